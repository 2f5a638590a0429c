#include "sim_cli.hpp"

#include <iostream>

int main(int argc, char** argv) {
    return aismi::sim::runSimCli(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
