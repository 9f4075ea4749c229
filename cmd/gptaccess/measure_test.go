package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/adapters/slack/slacktest"
)

// buildBinary builds the command once per benchmark, as a user would run it.
func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "gptaccess")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkColdAsk is one whole `gptaccess ask` process: start, load the
// knowledge base, answer, exit.
func BenchmarkColdAsk(b *testing.B) {
	bin := buildBinary(b)
	for _, msg := range []string{"what is error 1020?", "chatgpt says access denied 1020"} {
		b.Run(strings.Fields(msg)[0], func(b *testing.B) {
			for b.Loop() {
				if out, err := exec.Command(bin, "ask", msg).CombinedOutput(); err != nil {
					b.Fatalf("ask: %v\n%s", err, out)
				}
			}
		})
	}
}

// rss reads a process's resident set size in KiB.
func rss(b *testing.B, pid int) float64 {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkIdleRSS reports the resident memory of an idle bot after start-up:
// the terminal bot, and the bot connected to fake Slack and Discord. The
// monitor is off so nothing leaves the machine.
func BenchmarkIdleRSS(b *testing.B) {
	bin := buildBinary(b)
	measure := func(b *testing.B, env []string, ready func()) {
		for b.Loop() {
			cmd := exec.Command(bin, "run")
			cmd.Env = append(os.Environ(), env...)
			cmd.Env = append(cmd.Env, "GPTACCESS_DB="+filepath.Join(b.TempDir(), "g.db"), "GPTACCESS_MONITOR_ENABLED=false", "GPTACCESS_HTTP_LISTEN=127.0.0.1:0")
			stdin, err := cmd.StdinPipe() // held open: the terminal bot waits for input
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			ready()
			time.Sleep(500 * time.Millisecond) // let start-up garbage be collected
			b.ReportMetric(rss(b, cmd.Process.Pid), "KiB-RSS")
			stdin.Close()
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	b.Run("terminal", func(b *testing.B) {
		measure(b, nil, func() { time.Sleep(200 * time.Millisecond) })
	})
	b.Run("slack+discord", func(b *testing.B) {
		sfake := slacktest.New(b, slacktest.Config{})
		dfake := discordtest.NewServer(b, discordtest.Options{})
		conns := 0
		measure(b, []string{
			"GPTACCESS_SLACK_API_URL=" + sfake.APIURL(), "SLACK_BOT_TOKEN=" + sfake.Config().BotToken, "SLACK_APP_TOKEN=" + sfake.Config().AppToken,
			"GPTACCESS_DISCORD_API_URL=" + dfake.URL, "DISCORD_BOT_TOKEN=" + dfake.Token,
		}, func() {
			conns++
			sfake.WaitConnections(b, conns, 10*time.Second)
			dfake.WaitHandshakes(b, conns)
		})
	})
}
