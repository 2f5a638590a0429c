#include "firmware_pack.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace aismi;
    try {
        auto request = firmware_pack::parsePackArgs(std::vector<std::string>(argv + 1, argv + argc));
        if (!request) {
            std::cerr << "aismi-firmware-pack: " << request.error().message << "\n";
            return errcInfo(request.error().code).exitCode;
        }
        if (request->help) {
            std::cout << request->helpText << std::flush;
            return std::cout ? 0 : errcInfo(Errc::IoError).exitCode;
        }
        auto done = firmware_pack::runPack(*request);
        if (!done) {
            std::cerr << "aismi-firmware-pack: " << done.error().message << "\n";
            return errcInfo(done.error().code).exitCode;
        }
        std::cout << *done << std::flush;
        return std::cout ? 0 : errcInfo(Errc::IoError).exitCode;
    } catch (const std::exception& e) {
        std::cerr << "aismi-firmware-pack: " << e.what() << "\n";
        return errcInfo(Errc::Internal).exitCode;
    }
}
