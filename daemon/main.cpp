#include "daemon.hpp"

int main(int argc, char** argv) { return aismi::runDaemon(std::vector<std::string>(argv + 1, argv + argc)); }
