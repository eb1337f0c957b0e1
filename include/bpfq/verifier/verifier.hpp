#pragma once
// The static verifier: proves, before a program runs, that every path through it touches only
// memory it may touch, uses only values it initialised, calls helpers with arguments of the
// right kinds, releases every packet reference it takes, terminates, and returns a value its
// program type allows. A verified program runs without run-time checks.
//
//   const ProgramType* type = program_type_for_section(prog.section, prog.ctx_struct);
//   VerifyResult r = verify(prog, object, *type);
//   if (!r.ok) throw r.error();   // "R1 may be NULL here: …" at fq.bpf.c:212
//
// It explores every path as Linux's verifier does (register types, scalar bounds as tnums and
// ranges, stack slots, reference tracking) with state pruning at jump targets.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/program_types.hpp>

namespace bpfq::verifier {

struct VerifyOptions {
  bool log = false;                           // keep the whole exploration log (prog check -v)
  uint64_t insn_limit = 250'000;              // instructions processed before "too complex"
  uint32_t ctx_size = 0;                      // CtxKind::Memory: the buffer's size
  // BTF of the kernel types struct_ops programs see (sched::kernel_btf()); without it their
  // programs are left unverified.
  std::span<const uint8_t> kernel_btf;
};

struct Diagnostic {
  size_t insn = 0;
  std::string message;  // "R1 may be NULL here"
  std::string where;    // "fq.bpf.c:212" or ""
  std::string source;   // the source line's text, or ""
  std::string hint;     // what to do about it
  std::string state;    // what was known about the registers involved
};

struct VerifyResult {
  bool ok = true;
  // !ok because the program uses something the verifier does not model yet (struct_ops
  // programs only: untrusted pointers, helpers without a prototype): it runs checked, and
  // error says what.
  bool unsupported = false;
  Diagnostic error;               // when !ok: the first problem found
  std::string log;                // with VerifyOptions::log
  uint64_t insns_processed = 0;
  uint64_t states_stored = 0;
  uint64_t joins = 0;  // paths merged where they met
  // What r0 may be at the main program's exits (the hull over every path), when ok.
  int64_t r0_smin = INT64_MAX, r0_smax = INT64_MIN;
  uint64_t r0_umin = UINT64_MAX, r0_umax = 0;
  double seconds = 0;
  // Maps this program used as packet queues (bpf_skb_queue_*) and as plain maps, by index.
  std::vector<uint32_t> skb_queue_maps, plain_maps;

  // bpf::Error naming the object, section, instruction and source line.
  Error to_error(const std::string& object, const std::string& section) const;
};

VerifyResult verify(const loader::ProgramSpec& prog, const loader::ObjectSpec& object, const ProgramType& type,
                    const VerifyOptions& opts = {});

// Verifies every program of the object that has a program type, then checks what spans
// programs: a map used as a packet queue by one program may not be used as a plain map by
// another. A program too complex to verify is only left unverified (it runs checked).
struct ObjectVerification {
  std::vector<uint8_t> verified;      // parallel to object.programs: 1 if it has a type and verified
  std::vector<VerifyResult> results;  // parallel to object.programs (default for the untyped)
  std::vector<Error> object_problems; // what spans programs

  // Whether program i has a type and the verifier found it unsafe or too complex (not: beyond
  // what it models, which leaves it to run checked).
  bool refused(size_t i) const { return !results[i].ok && !results[i].unsupported; }
  // The first problem: a program refused (in program order), else an object-level one.
  std::optional<Error> first_problem(const loader::ObjectSpec& object, const std::string& where) const;
};
// only: verify just the program of that section or entry function (the one a caller will run).
ObjectVerification verify_object(const loader::ObjectSpec& object, const std::string& where,
                                 const VerifyOptions& opts = {}, std::string_view only = {});

}  // namespace bpfq::verifier
