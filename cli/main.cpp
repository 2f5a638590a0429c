#include "app.hpp"
#include "terminal_safe.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    // stdout whole; stderr carries progress bars, and app.cpp escapes its messages.
    aismi::cli::TerminalSafe out(std::cout);
    try {
        return aismi::cli::runCli(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
    } catch (const std::exception& e) {
        // Nothing should throw this far; if something does, a sentence and an exit code, not abort().
        std::cerr << "aismi: internal error: " << e.what() << "\n";
        return 1;
    }
}
