#include "conf_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace aismi {

Result<std::vector<std::pair<std::string, std::string>>> readConfDir(const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return out;
    if (!std::filesystem::is_directory(dir, ec)) return makeError(Errc::ConfigInvalid, dir + " is not a directory");
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".conf") files.push_back(entry.path().string());
    if (ec) return makeError(Errc::ConfigInvalid, "cannot list " + dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::ifstream in(file);
        if (!in) return makeError(Errc::ConfigInvalid, file + " cannot be read");
        std::ostringstream content;
        content << in.rdbuf();
        out.emplace_back(file, content.str());
    }
    return out;
}

}  // namespace aismi
