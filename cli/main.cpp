#include "app.hpp"
#include "terminal_safe.hpp"

#include <iostream>

int main(int argc, char** argv) {
    // stdout whole; stderr carries progress bars, and app.cpp escapes its messages.
    aismi::cli::TerminalSafe out(std::cout);
    return aismi::cli::runCli(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
