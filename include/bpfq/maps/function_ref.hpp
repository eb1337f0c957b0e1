#pragma once
// A non-owning reference to a callable: two words, no allocation, cheap to pass by value.
// Map iteration takes one so a per-element callback never costs a heap allocation (std::function
// may allocate for captures). The referenced callable must outlive the call it is passed to.
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace bpfq::maps {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
  union Target {
    void* object;
    R (*function)(Args...);
  };

 public:
  // Any callable object (lambda, functor); it is referenced, not copied.
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             !std::is_function_v<std::remove_reference_t<F>> &&
             !std::is_pointer_v<std::remove_cvref_t<F>> &&
             std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& callable) noexcept  // NOLINT(google-explicit-constructor): used like a lambda
      : trampoline_([](Target target, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(target.object),
                             std::forward<Args>(args)...);
        }) {
    target_.object = const_cast<void*>(static_cast<const void*>(std::addressof(callable)));
  }

  // A plain function.
  FunctionRef(R (*function)(Args...)) noexcept  // NOLINT(google-explicit-constructor)
      : trampoline_([](Target target, Args... args) -> R {
          return target.function(std::forward<Args>(args)...);
        }) {
    target_.function = function;
  }

  R operator()(Args... args) const { return trampoline_(target_, std::forward<Args>(args)...); }

 private:
  Target target_;
  R (*trampoline_)(Target, Args...);
};

}  // namespace bpfq::maps
