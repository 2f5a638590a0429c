// What the command files share when they parse: usage errors with a pointer to the right help,
// range-checked numbers, comma lists, -i, "did you mean", and the shapes most commands take
// (one card, one VF, cards shown).
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

/// An invalid-argument error: what was wrong, then where the help is.
Error usage(const std::string& what, const std::string& hint = "aismi --help lists the options");
/// "a, b,,c " → {"a", "b", "c"}.
std::vector<std::string> splitComma(const std::string& s);
/// A whole number in [min, max]; "-1" and "1e3" are refused, never wrapped.
Result<unsigned> number(const std::string& text, const std::string& option, unsigned min, unsigned max, const std::string& hint);
/// nvidia-smi's word for what aismi calls otherwise: " (did you mean X?)", or "".
std::string didYouMean(const std::string& word);
/// A typo of one of `candidates` (at most 2 letters added, dropped, changed or swapped, and
/// fewer than a third of the word): " (did you mean X?)"; "" when none is that close.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates);
/// -i as given, each checked to name a card or a VF; none when -i is not given.
Result<std::vector<std::string>> ids(const CommandLine& c);
/// -i naming exactly one card, for `group command` ("vf enable"; group "" for a command of its
/// own, "reset").
Result<std::string> oneCard(const CommandLine& c, const std::string& command, const std::string& group = "vf");
/// "takes one VF, not 2 words ('0:3 vfio-pci')": what `what` says when more words follow a
/// command than it takes.
std::string tooManyWords(const CommandLine& c, const std::string& what);
/// The one VF word after `vf VERB`: CARD:VF or a VF's PCI address.
Result<std::string> oneVf(const CommandLine& c, const std::string& verb);
/// -i naming cards only (a command that shows cards).
Result<std::vector<std::string>> cardIds(const CommandLine& c, const std::string& command, const std::string& hint);
/// A group's options as its --help lists them: under the help's one "Options:" heading, without
/// the description's own caption line ("vf options:").
std::string optionLines(const boost::program_options::options_description& options);

}  // namespace aismi::cli
