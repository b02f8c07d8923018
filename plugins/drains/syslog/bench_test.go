package syslogdrain

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// benchLine is a typical app log line (≈ 110 bytes).
const benchLine = `I, [2026-11-22T01:02:03.123456 #42]  INFO -- : Completed 200 OK in 12ms (Views: 8.1ms | ActiveRecord: 1.2ms)`

// maxLag bounds how far the writer runs ahead of the slowest consumer: the
// benchmarks measure sustained throughput without overflowing any buffer.
const maxLag = 32768

// frameCounter is a fast TCP receiver counting octet-counted frames.
type frameCounter struct {
	ln    net.Listener
	count atomic.Int64
}

func newFrameCounter(tb testing.TB) *frameCounter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	fc := &frameCounter{ln: ln}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d := syslog.NewDecoder(c, 64<<10)
				for {
					if _, err := d.Next(); err != nil {
						return
					}
					fc.count.Add(1)
				}
			}()
		}
	}()
	return fc
}

func (fc *frameCounter) addr() string { return fc.ln.Addr().String() }

// waitCount waits for n frames, generously.
func waitCount(tb testing.TB, c *atomic.Int64, n int64, what string) {
	deadline := time.Now().Add(5 * time.Minute)
	for c.Load() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d of %d lines after 5 min", what, c.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkRelay measures lines/s in the same run for
//
//   - logplex: dyno output written into Logplex's per-app input, delivered
//     to one live tail and one TCP syslog drain (a Go receiver counting
//     frames); a line counts when both have it;
//   - rsyslog: the same lines as RFC 5424 octet-counted frames sent over
//     TCP to a private rsyslogd (imtcp) that relays them with omfwd
//     (octet-counted TCP) to the same kind of counting receiver.
//
// Run with a fixed -benchtime=Nx; see bench/logplex.sh.
func BenchmarkRelay(b *testing.B) {
	b.Run("logplex", benchLogplexRelay)
	b.Run("rsyslog", benchRsyslogRelay)
}

func benchLogplexRelay(b *testing.B) {
	fc := newFrameCounter(b)
	factory, err := Factory(Config{})
	if err != nil {
		b.Fatal(err)
	}
	lp := logplex.New(logplex.Config{Drains: logplex.Schemes{"syslog": factory},
		DrainBuffer: 2 * maxLag, TailBuffer: 2 * maxLag, DrainBatch: 1000})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "bench", "syslog://"+fc.addr(), logplex.DrainOptions{}); err != nil {
		b.Fatal(err)
	}
	tail, err := lp.Tail("bench", logplex.TailOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var tailed atomic.Int64
	go func() {
		var msgs []core.LogMessage
		for {
			msgs, err = tail.Next(context.Background(), msgs)
			if err != nil {
				return
			}
			tailed.Add(int64(len(msgs)))
		}
	}()
	// Dyno output arrives in reads of many lines, as from a pipe.
	const perWrite = 64
	chunk := []byte(strings.Repeat(benchLine+"\n", perWrite))
	w := lp.Dyno("bench", "web.1")
	n := int64(b.N)
	b.ResetTimer()
	start := time.Now()
	var written int64
	for written < n {
		k := min(int64(perWrite), n-written)
		if _, err := w.Write(chunk[:k*int64(len(benchLine)+1)]); err != nil {
			b.Fatal(err)
		}
		written += k
		for written-min(fc.count.Load(), tailed.Load()) > maxLag {
			time.Sleep(50 * time.Microsecond) // yield the CPU without spinning
		}
	}
	waitCount(b, &fc.count, n, "syslog receiver")
	waitCount(b, &tailed, n, "tail")
	elapsed := time.Since(start)
	b.StopTimer()
	tail.Close()
	if s := lp.Drains("bench")[0]; s.Dropped != 0 || tail.Dropped() != 0 {
		b.Fatalf("dropped lines: drain %d, tail %d", s.Dropped, tail.Dropped())
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
}

func benchRsyslogRelay(b *testing.B) {
	fc := newFrameCounter(b)
	host, port, _ := net.SplitHostPort(fc.addr())
	rs := startRsyslogd(b, fmt.Sprintf(`action(type="omfwd" target=%q port=%q protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`, host, port))
	c, err := net.Dial("tcp", "127.0.0.1:"+rs.port)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bw := bufio.NewWriterSize(c, 64<<10)
	m := core.LogMessage{Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: benchLine}
	n := int64(b.N)
	var frame []byte
	b.ResetTimer()
	start := time.Now()
	for written := int64(0); written < n; written++ {
		m.Time = time.Now()
		frame = syslog.AppendFrame(frame[:0], m, syslog.RFC5424)
		if _, err := bw.Write(frame); err != nil {
			b.Fatal(err)
		}
		if written%64 == 63 {
			if err := bw.Flush(); err != nil {
				b.Fatal(err)
			}
			for written-fc.count.Load() > maxLag {
				time.Sleep(50 * time.Microsecond) // leave the CPU to rsyslogd
			}
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	waitCount(b, &fc.count, n, "rsyslog relay receiver")
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
}

// BenchmarkMemory1000Apps fills 1,000 apps' 1,500-line buffers with
// typical lines and reports the heap bytes per app.
func BenchmarkMemory1000Apps(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		lp := logplex.New(logplex.Config{})
		for a := range 1000 {
			app := fmt.Sprintf("app-%04d", a)
			w := lp.Dyno(app, "web.1")
			for i := range logplex.DefaultBufferLines {
				fmt.Fprintf(w, "%s %d\n", benchLine, i)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := len(lp.Recent("app-0999", 2000, logplex.Filter{})); got != logplex.DefaultBufferLines {
			b.Fatalf("app holds %d lines", got)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1000, "bytes/app")
		lp.Close()
	}
}

// BenchmarkTailLatency writes lines at 50,000 lines/s into an app that has a
// live tail and a TCP syslog drain, and reports percentiles of the time
// from Write to the tail's reader, and the lines the tail dropped (b.N
// lines; run with -benchtime=250000x).
func BenchmarkTailLatency(b *testing.B) {
	fc := newFrameCounter(b)
	factory, err := Factory(Config{})
	if err != nil {
		b.Fatal(err)
	}
	lp := logplex.New(logplex.Config{Drains: logplex.Schemes{"syslog": factory}, TailBuffer: 8192})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "bench", "syslog://"+fc.addr(), logplex.DrainOptions{}); err != nil {
		b.Fatal(err)
	}
	tail, err := lp.Tail("bench", logplex.TailOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	last := fmt.Sprintf("%s #%d", benchLine, n-1)
	lat := make([]time.Duration, 0, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var msgs []core.LogMessage
		for {
			var err error
			msgs, err = tail.Next(context.Background(), msgs)
			if err != nil {
				return
			}
			now := time.Now()
			for i := range msgs {
				lat = append(lat, now.Sub(msgs[i].Time))
				if msgs[i].Text == last {
					return
				}
			}
		}
	}()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("%s #%d", benchLine, i)
	}
	const rate = 50000
	interval := time.Second / rate
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; {
		due := int(time.Since(start) / interval)
		for ; i < n && i <= due; i++ {
			_ = lp.WriteLine("bench", "app", "web.1", texts[i])
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("the tail never got the last line")
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(tail.Dropped()), "tail-dropped")
}
