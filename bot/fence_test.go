package bot_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyFence keeps the core free of adapters, chat SDKs and
// database drivers (README, "Architecture": dependencies point inward to bot).
func TestDependencyFence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	forbidden := []string{
		"gptaccess/adapters", "gptaccess/sqlite", "gptaccess/postgres", "gptaccess/storetest", "gptaccess/config", "gptaccess/monitor", "gptaccess/web", "gptaccess/cmd",
		"github.com/slack-go/", "github.com/bwmarrin/discordgo", "modernc.org/sqlite", "github.com/jackc/",
		"database/sql", "github.com/prometheus/", "github.com/robfig/cron",
	}
	for _, pkg := range []string{"gptaccess/bot", "gptaccess/kb", "gptaccess/kb/diagnosis", "gptaccess/kb/accent", "gptaccess/cloudflare", "gptaccess/config"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if pkg == "gptaccess/config" && f == "github.com/robfig/cron" {
					continue // config validates cron specs with the same parser the monitor uses
				}
				if strings.HasPrefix(dep, f) && dep != pkg {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
