#pragma once
// The kinds' ops tables (one file each) and what the program-based kinds share.
#include <cstdint>
#include <string>

#include <bpfq/tc/param_value.hpp>
#include <bpfq/tc/qdisc_kind.hpp>

namespace bpfq::tc::kinds {

extern const QdiscKind kNativePfifo, kNativeBfifo, kPfifoHeadDrop, kNativePfifoFast, kNativeFqCodel, kBpf, kMq,
    kMqprio;

// NAME [VALUE] pairs up to the end of the line into spec.params (a NAME without a value is a
// flag set to 1).
void parse_program_params(TcLine& line, QdiscSpec& spec);
// One NAME [VALUE] pair.
void parse_program_param(TcLine& line, QdiscSpec& spec);

// Linux tc's own syntax of a library program whose options are not NAME VALUE pairs
// (hfsc_syntax.cpp: `hfsc default 20`, `hfsc sc m1 2mbit d 10ms m2 1mbit ul rate 2mbit`; cake_syntax.cpp): the
// qdisc's or a class's words into spec.params. False if `program` has no syntax of its own.
bool parse_library_qdisc_options(const std::string& program, TcLine& line, QdiscSpec& spec);
bool parse_library_class_options(const std::string& program, TcLine& line, QdiscSpec& spec);

// A value of one kind after `word`, as tc reads it: bare numbers are bits/s for rates,
// microseconds for times and bytes for sizes (hfsc's and cake's options; hfsc_syntax.cpp).
uint64_t take_tc_value(TcLine& line, const std::string& word, ValueKind kind);

// cake's keywords (cake_syntax.cpp: `cake bandwidth 100mbit diffserv4 dual-dsthost ack-filter`).
void parse_cake_qdisc(TcLine& line, QdiscSpec& spec);

}  // namespace bpfq::tc::kinds
