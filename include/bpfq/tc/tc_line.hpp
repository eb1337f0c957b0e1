#pragma once
// One tc command as words, read front to back by the parsers of qdisc, class and filter lines.
// Every error names the line (where), the offending word, the words before it and what was
// expected there:
//   setup.tc:3: unexpected 'foo' after 'limit 100': expected a parameter name
//   setup.tc:4: expected a handle (1:, 1:10) after 'classid'
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/handle.hpp>

namespace bpfq::tc {

// An engine's error raised for what a line wrote: the line (where) first, then the engine's where.
Error on_line(const Error& e, const std::string& where);

class TcLine {
 public:
  TcLine(std::vector<std::string> words, std::string where);
  // Splits on whitespace; a word starting with '#' comments out the rest of the line.
  static TcLine split(const std::string& text, std::string where);

  const std::string& where() const { return where_; }
  const std::vector<std::string>& words() const { return words_; }
  bool done() const { return pos_ >= words_.size(); }
  // The next word, or nullptr at the end of the line.
  const std::string* peek() const { return done() ? nullptr : &words_[pos_]; }
  // Consumes the next word if it is `word`.
  bool accept(std::string_view word);
  // The next word; an error saying `expected` is missing at the end of the line.
  std::string take(std::string_view expected);
  // The next word, which must be `word`.
  void expect(std::string_view word);
  // take() parsed as a tc handle ("1:", "1:10").
  sched::Handle take_handle(std::string_view expected);
  // take() parsed as a decimal or 0x number up to max.
  uint64_t take_number(std::string_view expected, uint64_t max);
  // Errors on any word left.
  void expect_end(std::string_view expected);
  // The words from the next one to the end, joined by spaces, not consumed.
  std::string remaining_text() const;
  // The words from the next one to the end, consumed.
  std::vector<std::string> take_rest();

  // "unexpected 'W' after 'A B': expected E" at the next word (or "expected E after 'A B'" at
  // the end of the line).
  [[noreturn]] void unexpected(std::string_view expected) const;
  // The same for the word just taken.
  [[noreturn]] void bad_previous(std::string_view expected) const;
  // bpfq::Error(what, where, hint).
  [[noreturn]] void fail(const std::string& what, const std::string& hint = {}) const;

 private:
  // The (up to) two words before index i, quoted: " after 'limit 100'", or "".
  std::string context(size_t i) const;

  std::vector<std::string> words_;
  std::string where_;
  size_t pos_ = 0;
};

}  // namespace bpfq::tc
