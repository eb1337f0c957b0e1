#include <bpfq/tc/qdisc_spec.hpp>

#include <bpfq/error.hpp>
#include <bpfq/tc/program_library.hpp>
#include <bpfq/tc/qdisc_kind.hpp>

namespace bpfq::tc {

QdiscSpec parse_qdisc_spec(TcLine& line, const RegisteredQdiscs* registered) {
  QdiscSpec spec;
  spec.where = line.where();
  spec.text = line.remaining_text();
  const std::string word = line.take("a qdisc kind (" + qdisc_kind_names() + ") or a library program");
  const QdiscKind* kind = find_qdisc_kind(word);
  if (!kind) {
    if (word.ends_with(".o")) {
      spec.object = word;
    } else if (registered && registered->count(word)) {
      spec.object = registered->find(word)->second;
    } else {
      spec.object = find_library_program(word);
      if (spec.object.empty()) {
        std::string dirs;
        for (const std::string& d : program_library_dirs()) dirs += (dirs.empty() ? "" : ", ") + d;
        line.fail("unknown qdisc '" + word + "': not a kind (" + qdisc_kind_names() + ") and no " + word +
                      ".bpf.o in the qdisc library (" + dirs + ")",
                  "bpf obj FILE.bpf.o runs an eBPF qdisc of yours; BPFQ_PROGS_PATH adds library folders");
      }
    }
    kind = find_qdisc_kind("bpf");
  }
  spec.kind = std::string(kind->name);
  spec.name = kind->name == "bpf" && !word.ends_with(".o") ? word : spec.kind;
  kind->parse(line, spec);
  return spec;
}

QdiscSpec parse_qdisc_spec(const std::string& text) {
  TcLine line = TcLine::split(text, "qdisc '" + text + "'");
  return parse_qdisc_spec(line);
}

std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle,
                                         const BeforeInit& before_init) {
  try {
    return find_qdisc_kind(spec.kind)->create(spec, site, handle, before_init);
  } catch (const Error& e) {
    throw on_line(e, spec.where);
  }
}

}  // namespace bpfq::tc
