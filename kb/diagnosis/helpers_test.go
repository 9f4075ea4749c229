package diagnosis

import "testing"

// mustDefault loads the embedded model, failing the test on error.
func mustDefault(t testing.TB) *Model {
	t.Helper()
	m, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
