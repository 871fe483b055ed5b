// The digitgen command line (filled in with the models).
#include <cstdio>
int main() { std::puts("digitgen"); return 0; }
