/* Prints a greeting and the zlib version it runs with (a runtime library the -dev package brought). */
#include <stdio.h>
#include <zlib.h>

int main(void) {
    printf("hello from C; zlib %s\n", zlibVersion());
    return 0;
}
