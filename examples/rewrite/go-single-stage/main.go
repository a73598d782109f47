// hello prints a greeting and the number of CA certificates it can see, so a build that
// forgot them shows it.
package main

import (
	"crypto/x509"
	"fmt"
)

func main() {
	pool, err := x509.SystemCertPool()
	n := 0
	if err == nil && pool != nil {
		n = len(pool.Subjects()) //nolint:staticcheck // a count is all we need
	}
	fmt.Printf("hello from Go; CA certificates available: %t\n", n > 0)
}
