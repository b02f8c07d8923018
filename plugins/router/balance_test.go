package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/paasd/paasd/core"
)

// TestPick checks each balancer's choice against preset in-flight counts.
func TestPick(t *testing.T) {
	mk := func(counts ...int64) *appRoute {
		a := &appRoute{}
		for i, n := range counts {
			p := newConnPool(fmt.Sprintf("127.0.0.1:%d", 1000+i), 1, 0)
			p.inflight.Store(n)
			a.backends = append(a.backends, &backend{dyno: fmt.Sprintf("web.%d", i+1), pool: p})
		}
		return a
	}
	tests := []struct {
		desc     string
		balancer string
		counts   []int64
		// allowed are the dynos the balancer may pick.
		allowed []string
	}{
		{"least-conn picks the idle one", BalancerLeastConn, []int64{3, 0, 5}, []string{"web.2"}},
		{"least-conn ties", BalancerLeastConn, []int64{1, 4, 1}, []string{"web.1", "web.3"}},
		{"p2c of two picks the less busy", BalancerP2C, []int64{7, 2}, []string{"web.2"}},
		{"p2c never picks the busiest of three", BalancerP2C, []int64{1, 9, 2}, []string{"web.1", "web.3"}},
		{"random may pick any", BalancerRandom, []int64{0, 9, 0}, []string{"web.1", "web.2", "web.3"}},
		{"one backend", BalancerP2C, []int64{4}, []string{"web.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			a := mk(tt.counts...)
			a.balancer = tt.balancer
			seen := map[string]bool{}
			for range 500 {
				d := a.pick().dyno
				ok := false
				for _, w := range tt.allowed {
					ok = ok || w == d
				}
				if !ok {
					t.Fatalf("picked %s, want one of %v", d, tt.allowed)
				}
				seen[d] = true
			}
			if len(seen) != len(tt.allowed) {
				t.Errorf("picked only %v of %v in 500 tries", seen, tt.allowed)
			}
		})
	}
}

// TestLeastConnCountsFromDispatch: a backend is busy from the moment it is
// chosen, not from its first response byte. Requests the backends hold
// (no response yet) are spread evenly by least-conn, each sent once the
// previous one reached its backend.
func TestLeastConnCountsFromDispatch(t *testing.T) {
	for _, bal := range []string{BalancerLeastConn, BalancerP2C} {
		t.Run(bal, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan string, 16)
			hold := func(dyno string) *httptest.Server {
				s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					arrived <- dyno
					<-release
					w.WriteHeader(204)
				}))
				t.Cleanup(s.Close)
				return s
			}
			b1, b2 := hold("web.1"), hold("web.2")
			r, addr := startRouter(t, Options{})
			setRoutes(t, r, 1, core.Route{App: "a", Balancer: bal, Backends: []core.Backend{
				{Dyno: "web.1", Address: addrOf(b1)}, {Dyno: "web.2", Address: addrOf(b2)}}})
			var wg sync.WaitGroup
			count := map[string]int{}
			const n = 8
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					get(t, addr, "a.localhost", "/", nil)
				}()
				count[<-arrived]++
			}
			close(release)
			wg.Wait()
			if count["web.1"] != n/2 || count["web.2"] != n/2 {
				t.Fatalf("%s spread held requests %v, want %d each", bal, count, n/2)
			}
		})
	}
}
