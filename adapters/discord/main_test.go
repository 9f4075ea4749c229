package discord

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises test parallelism when -parallel is not given: most
// end-to-end tests spend their time in discordgo's Session.Close, which
// sleeps one second, so on a two-core machine the default (GOMAXPROCS)
// would leave the CPUs idle and the package slow.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			set = true
		}
	})
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
