package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/adapters/slack/slacktest"
	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// buildBinary builds the command once per benchmark as the Docker image
// builds it: static, without cgo.
func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "gptaccess")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
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

// peakRSS reads a process's peak resident set size (VmHWM) in KiB.
func peakRSS(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// seedHistory records days of history at one round per interval for the
// three default targets (api up with an hour's outage a week, web
// blocked every afternoon, status up) through the sqlite package, as the
// monitor would have recorded it.
func seedHistory(b *testing.B, path string, days int, interval time.Duration, end time.Time) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := days * int(24*time.Hour/interval)
	var rs []monitor.Result
	for k := n - 1; k >= 0; k-- {
		at := end.Add(-time.Duration(k) * interval)
		lat := time.Duration(80+k%37) * time.Millisecond
		api := monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401, Latency: lat, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "API front door answers", CheckedAt: at}
		if k%int(7*24*time.Hour/interval) < int(time.Hour/interval) {
			api.Verdict, api.Code, api.Status = cloudflare.OriginDown, 522, 522
		}
		web := monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.Up, Status: 200, Latency: 2 * lat, RayID: "8a1b2c3d4e5f6780", DataCenter: "FRA", Detail: "HTTP 200", CheckedAt: at}
		if h := at.Hour(); h >= 14 && h < 16 {
			web.Verdict, web.Code, web.Status = cloudflare.Blocked1020, 1020, 403
		}
		st := monitor.Result{Target: "status", Kind: monitor.TargetStatus, Verdict: cloudflare.Up, Status: 200, Latency: lat / 2, Detail: "official status: none", CheckedAt: at,
			Official: &monitor.Official{Indicator: "none", Description: "All Systems Operational", Components: map[string]string{"APIs": "operational", "ChatGPT": "operational"}}}
		rs = append(rs, api, web, st)
		if len(rs) >= 30000 || k == 0 {
			if err := db.RecordResults(ctx, rs); err != nil {
				b.Fatal(err)
			}
			rs = rs[:0]
		}
	}
}

// BenchmarkStatusPageLoad serves the status page of a real `gptaccess run`
// process over loopback, with 30 days of history at the 30 s schedule:
// latency sequentially and with 50 concurrent clients, and the process's
// peak RSS. The monitor is off so nothing leaves the machine.
func BenchmarkStatusPageLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 30 days of history")
	}
	bin := buildBinary(b)
	dbPath := filepath.Join(b.TempDir(), "g.db")
	seedHistory(b, dbPath, 30, 30*time.Second, time.Now().Add(-10*time.Second))
	for b.Loop() {
		cmd, addr, stop := runTerminalBot(b, bin, dbPath)
		get := pageGetter(addr)
		for deadline := time.Now().Add(10 * time.Second); ; {
			if _, err := get(); err == nil {
				break
			} else if time.Now().After(deadline) {
				b.Fatalf("the bot did not serve /: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var seq []time.Duration
		for range 1000 {
			d, err := get()
			if err != nil {
				b.Fatal(err)
			}
			seq = append(seq, d)
		}
		conc, failed := concurrentGets(b, get, 50, 20)
		// Failed requests (a 500 after the page's 5 s store timeout) count
		// with the time they took, and are reported.
		b.ReportMetric(float64(failed), "c50-failed")
		b.ReportMetric(quantile(seq, 0.50), "seq-p50-ms")
		b.ReportMetric(quantile(seq, 0.99), "seq-p99-ms")
		b.ReportMetric(quantile(conc, 0.50), "c50-p50-ms")
		b.ReportMetric(quantile(conc, 0.99), "c50-p99-ms")
		b.ReportMetric(peakRSS(b, cmd.Process.Pid)/1024, "peak-RSS-MiB")
		stop()
	}
}

// runTerminalBot starts `gptaccess run` on the database at dbPath, the
// monitor off and no platform configured (the terminal bot, its input
// held open), serving HTTP on a free loopback address; stop ends it.
func runTerminalBot(b *testing.B, bin, dbPath string) (cmd *exec.Cmd, addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd = exec.Command(bin, "run")
	cmd.Env = append(os.Environ(), "GPTACCESS_DB="+dbPath, "GPTACCESS_MONITOR_ENABLED=false", "GPTACCESS_HTTP_LISTEN="+addr, "GPTACCESS_LOG_LEVEL=warn")
	stdin, err := cmd.StdinPipe() // held open: the terminal bot waits for input
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd, addr, func() {
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
}

// pageGetter returns a function that gets the status page at addr and
// says how long it took; a status other than 200 is an error.
func pageGetter(addr string) func() (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func() (time.Duration, error) {
		start := time.Now()
		res, err := client.Get("http://" + addr + "/")
		if err != nil {
			return time.Since(start), err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		return time.Since(start), err
	}
}

// concurrentGets calls get each times from each of clients goroutines at
// once and returns how long every call took, failed or not, and how many
// failed (logging the first failure).
func concurrentGets(b *testing.B, get func() (time.Duration, error), clients, each int) ([]time.Duration, int64) {
	var (
		mu   sync.Mutex
		took []time.Duration
		wg   sync.WaitGroup
		errs atomic.Int64
	)
	for range clients {
		wg.Go(func() {
			for range each {
				d, err := get()
				if err != nil {
					if errs.Add(1) == 1 {
						b.Logf("first failed request after %v: %v", d, err)
					}
				}
				mu.Lock()
				took = append(took, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return took, errs.Load()
}

// quantile is the nearest-rank q-quantile of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}
