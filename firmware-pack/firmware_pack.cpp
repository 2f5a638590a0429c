#include "firmware_pack.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/firmware_image.hpp>
#include <aismi/option_errors.hpp>
#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <unistd.h>

namespace po = boost::program_options;

namespace aismi::firmware_pack {
namespace {

constexpr const char* kUsage = R"(Usage: aismi-firmware-pack --key KEY.pem --version V --device VENDOR:DEVICE PAYLOAD -o IMAGE

Makes a firmware image (docs/firmware.md) of PAYLOAD for the cards VENDOR:DEVICE (hex, as
lspci -n shows), holding firmware version V, signed with the Ed25519 private key KEY.pem
(openssl genpkey -algorithm ed25519 -out KEY.pem). aismid takes it when the public half of
the key is in its firmware-keys directory: 'aismi firmware update -i ID IMAGE'. IMAGE is
replaced whole, never left half-written. Needs no aismid.

)";

Error usage(const std::string& what) { return makeError(Errc::InvalidArgument, what + " (aismi-firmware-pack --help)"); }

po::options_description packOptions() {
    po::options_description o("Options");
    o.add_options()
        ("key", po::value<std::string>(), "the Ed25519 private key to sign with (PEM)")
        ("version", po::value<std::string>(), "the firmware version the image holds (1 to 31 of 0-9 A-Z a-z . _ + -)")
        ("device", po::value<std::string>(), "VENDOR:DEVICE the image fits, hex (a15e:0100)")
        ("output,o", po::value<std::string>(), "where to write the image")
        ("help,h", "show this help");
    return o;
}

// "a15e:0100": two 16-bit hex IDs.
Result<std::pair<uint16_t, uint16_t>> deviceIds(const std::string& text) {
    const auto hex16 = [](const std::string& h) -> std::optional<uint16_t> {
        if (h.empty() || h.size() > 4 || h.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return std::nullopt;
        return static_cast<uint16_t>(std::stoul(h, nullptr, 16));
    };
    if (const size_t colon = text.find(':'); colon != std::string::npos)
        if (auto v = hex16(text.substr(0, colon)), d = hex16(text.substr(colon + 1)); v && d) return std::pair{*v, *d};
    return usage("--device takes VENDOR:DEVICE in hex (a15e:0100), not " + quoteInput(text));
}

Result<std::string> readFile(const std::string& path, uint64_t limit, const std::string& what) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return makeError(Errc::FileUnreadable, "cannot read the " + what + " " + path + ": " + (ec ? ec.message() : std::string("not a regular file")));
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return makeError(Errc::FileUnreadable, "cannot read the " + what + " " + path + ": " + ec.message());
    if (size > limit) return makeError(Errc::InvalidArgument, "the " + what + " " + path + " is " + std::to_string(size) + " bytes; at most " + std::to_string(limit));
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) return makeError(Errc::FileUnreadable, "cannot read the " + what + " " + path);
    return s.str();
}

}  // namespace

Result<PackRequest> parsePackArgs(const std::vector<std::string>& args) {
    po::options_description words;
    words.add_options()("words", po::value<std::vector<std::string>>()->composing(), "");
    po::options_description all;
    all.add(packOptions()).add(words);
    po::positional_options_description positional;
    positional.add("words", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    } catch (const po::error& e) {
        return usage(optionErrorText(e));
    }
    PackRequest r;
    if (vm.count("help")) {
        std::ostringstream help;
        help << kUsage << packOptions();
        r.help = true;
        r.helpText = help.str();
        return r;
    }
    const auto payload = vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (payload.size() != 1)
        return usage(payload.empty() ? "one PAYLOAD file is needed" : "one PAYLOAD file, not " + std::to_string(payload.size()) + " words (" +
                                                                          quoteInput(text::join(payload, " ")) + ")");
    r.payload = payload[0];
    for (const char* need : {"key", "version", "device", "output"})
        if (!vm.count(need) || vm[need].as<std::string>().empty()) return usage(std::string("--") + need + " is needed");
    r.keyFile = vm["key"].as<std::string>();
    r.version = vm["version"].as<std::string>();
    r.output = vm["output"].as<std::string>();
    auto ids = deviceIds(vm["device"].as<std::string>());
    if (!ids) return std::move(ids).error();
    std::tie(r.vendor, r.device) = *ids;
    return r;
}

Result<std::string> runPack(const PackRequest& r) {
    auto key = readFile(r.keyFile, 64 * 1024, "key");
    if (!key) return std::move(key).error();
    auto payload = readFile(r.payload, firmware::kMaxPayloadSize, "payload");
    if (!payload) return std::move(payload).error();
    auto image = firmware::pack(std::span(reinterpret_cast<const uint8_t*>(payload->data()), payload->size()), r.vendor, r.device, r.version, *key);
    if (!image) return std::move(image).error();
    // Written beside the target and renamed over it: never a half-written image.
    const std::string tmp = r.output + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(image->data()), static_cast<std::streamsize>(image->size()));
        if (!out.flush()) {
            std::filesystem::remove(tmp);
            return makeError(Errc::IoError, "cannot write " + r.output);
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, r.output, ec);
    if (ec) {
        std::filesystem::remove(tmp);
        return makeError(Errc::IoError, "cannot write " + r.output + ": " + ec.message());
    }
    const auto parsed = firmware::parse(*image).value();
    char ids[16];
    std::snprintf(ids, sizeof ids, "%04x:%04x", r.vendor, r.device);
    return "wrote " + r.output + ": firmware " + r.version + " for " + ids + ", " + std::to_string(payload->size()) + " bytes of payload, sha256 " +
           text::hex(parsed.sha256) + ", signed\n";
}

}  // namespace aismi::firmware_pack
