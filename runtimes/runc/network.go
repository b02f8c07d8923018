package runc

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// network is the dynos' bridge: every dyno has a veth port on it with its
// own address; ports are isolated (no dyno-to-dyno traffic), and egress is
// masqueraded when iptables is available.
type network struct {
	bridge  string
	subnet  *net.IPNet
	gateway net.IP
	ipDir   string // one file per allocated address, shared by all instances
	nat     bool
	// hostPorts, when non-nil, are the only TCP ports dynos reach on the
	// host.
	hostPorts []int

	once    sync.Once
	initErr error
	mu      sync.Mutex
}

func newNetwork(bridge, subnet string, nat bool) (*network, error) {
	_, ipnet, err := net.ParseCIDR(subnet)
	if err != nil || ipnet.IP.To4() == nil {
		return nil, fmt.Errorf("subnet %q: want an IPv4 CIDR such as 10.247.0.0/16", subnet)
	}
	ones, bits := ipnet.Mask.Size()
	if bits-ones < 2 || bits-ones > 24 {
		return nil, fmt.Errorf("subnet %q: want a prefix between /8 and /30", subnet)
	}
	gw := addIP(ipnet.IP.To4(), 1)
	return &network{bridge: bridge, subnet: ipnet, gateway: gw, nat: nat,
		ipDir: filepath.Join("/run/paasd/net", bridge)}, nil
}

func addIP(ip net.IP, n uint32) net.IP {
	v := binary.BigEndian.Uint32(ip.To4()) + n
	out := make(net.IP, 4)
	binary.BigEndian.PutUint32(out, v)
	return out
}

// ensure creates the bridge and the firewall rules once.
func (n *network) ensure() error {
	n.once.Do(func() { n.initErr = n.setup() })
	return n.initErr
}

func (n *network) setup() error {
	if err := os.MkdirAll(n.ipDir, 0o700); err != nil {
		return fmt.Errorf("network state: %w", err)
	}
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		la := netlink.NewLinkAttrs()
		la.Name = n.bridge
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create bridge %s: %w", n.bridge, err)
		}
		if br, err = netlink.LinkByName(n.bridge); err != nil {
			return fmt.Errorf("bridge %s: %w", n.bridge, err)
		}
	}
	// A fixed MAC: a bridge otherwise takes the lowest MAC of its ports,
	// which changes as dynos come and go (and breaks static neighbours).
	sum := sha1.Sum([]byte("paasd-bridge-" + n.bridge))
	mac := net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
	if err := netlink.LinkSetHardwareAddr(br, mac); err != nil {
		return fmt.Errorf("bridge %s address: %w", n.bridge, err)
	}
	ones, _ := n.subnet.Mask.Size()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.gateway, Mask: net.CIDRMask(ones, 32)}}
	if err := netlink.AddrReplace(br, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, n.bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("bridge %s up: %w", n.bridge, err)
	}
	n.keepCarrier(br)
	if n.nat {
		n.firewall()
	}
	if n.hostPorts != nil {
		if err := restrictHost(n.bridge, n.hostPorts); err != nil {
			return err
		}
	}
	return nil
}

// hostRules are the INPUT rules that let dynos on bridge reach the host
// only on ports, in the order they must end up in the chain.
func hostRules(bridge string, ports []int) [][]string {
	rules := [][]string{{"INPUT", "-i", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}}
	for _, p := range ports {
		rules = append(rules, []string{"INPUT", "-i", bridge, "-p", "tcp", "--dport", strconv.Itoa(p), "-j", "ACCEPT"})
	}
	return append(rules,
		[]string{"INPUT", "-i", bridge, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		[]string{"INPUT", "-i", bridge, "-j", "REJECT"})
}

// restrictHost installs hostRules (idempotently). Without iptables the
// restriction cannot hold, which is an error: the operator asked for it.
func restrictHost(bridge string, ports []int) error {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return fmt.Errorf("host_ports needs iptables: %w", err)
	}
	rules := hostRules(bridge, ports)
	// Insert from the last to the first, each at the top, so the
	// accepts come before the rejects.
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if exec.Command(ipt, append([]string{"-t", "filter", "-C"}, r...)...).Run() == nil {
			continue
		}
		if out, err := exec.Command(ipt, append([]string{"-t", "filter", "-I"}, r...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -I %s: %v: %s", strings.Join(r, " "), err, out)
		}
	}
	return nil
}

// RemoveHostRestriction deletes the INPUT rules a runtime configured with
// host_ports ports installed for bridge, for an operator who drops
// host_ports (or tests). Missing rules are ignored.
func RemoveHostRestriction(bridge string, ports []int) {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return
	}
	for _, r := range hostRules(bridge, ports) {
		for exec.Command(ipt, append([]string{"-t", "filter", "-D"}, r...)...).Run() == nil {
		}
	}
}

// keepCarrier gives the bridge a permanent port (one end of a veth pair
// whose other end stays in the host namespace, both up), so that it keeps
// its carrier while no dyno runs: otherwise the bridge goes down with its
// last port and comes up again, asynchronously, with the next dyno's, and
// that dyno's first connections can be lost meanwhile. Best effort: without
// it the bridge just flaps.
func (n *network) keepCarrier(br netlink.Link) {
	h := sha1.Sum([]byte("paasd-keep-" + n.bridge))
	sum := hex.EncodeToString(h[:])[:11]
	name, peer := "pdk"+sum, "pdq"+sum
	link, err := netlink.LinkByName(name)
	if err != nil {
		la := netlink.NewLinkAttrs()
		la.Name = name
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}); err != nil && !errors.Is(err, os.ErrExist) {
			return
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return
		}
	}
	if link.Attrs().MasterIndex != br.Attrs().Index {
		if err := netlink.LinkSetMaster(link, br); err != nil {
			return
		}
	}
	_ = netlink.LinkSetIsolated(link, true)
	_ = netlink.LinkSetUp(link)
	if p, err := netlink.LinkByName(peer); err == nil {
		_ = netlink.LinkSetUp(p)
	}
}

// firewall adds masquerading for egress and drops routed dyno-to-dyno
// traffic, if iptables is installed; without it dynos have no egress
// (isolation still holds through isolated bridge ports).
func (n *network) firewall() {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return
	}
	_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	sub := n.subnet.String()
	rules := [][]string{
		{"-t", "nat", "POSTROUTING", "-s", sub, "!", "-o", n.bridge, "-j", "MASQUERADE"},
		{"-t", "filter", "FORWARD", "-i", n.bridge, "-o", n.bridge, "-j", "DROP"},
		{"-t", "filter", "FORWARD", "-i", n.bridge, "!", "-o", n.bridge, "-j", "ACCEPT"},
		{"-t", "filter", "FORWARD", "-o", n.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
	}
	for _, r := range rules {
		check := append([]string{r[0], r[1], "-C"}, r[2:]...)
		if exec.Command(ipt, check...).Run() == nil {
			continue
		}
		ins := append([]string{r[0], r[1], "-I"}, r[2:]...)
		_ = exec.Command(ipt, ins...).Run()
	}
}

// allocate reserves a free address for dyno id.
func (n *network) allocate(id string) (net.IP, error) {
	if err := n.ensure(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ones, bits := n.subnet.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	for i := uint32(2); i < size-1; i++ {
		ip := addIP(n.subnet.IP.To4(), i)
		f, err := os.OpenFile(filepath.Join(n.ipDir, ip.String()), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("allocate address: %w", err)
		}
		_, _ = f.WriteString(id)
		f.Close()
		return ip, nil
	}
	return nil, fmt.Errorf("no free address left in %s", n.subnet)
}

// release frees an address.
func (n *network) release(ip string) {
	if ip != "" {
		if a := net.ParseIP(ip); a != nil {
			n.forgetNeighbor(a)
		}
		_ = os.Remove(filepath.Join(n.ipDir, ip))
	}
}

// forgetNeighbor drops the host's neighbour entry for a released address.
func (n *network) forgetNeighbor(ip net.IP) {
	if br, err := netlink.LinkByName(n.bridge); err == nil {
		_ = netlink.NeighDel(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: netlink.FAMILY_V4, IP: ip})
	}
}

// vethName is the host side of a dyno's veth pair (at most 15 bytes).
func vethName(id string) string {
	h := sha1.Sum([]byte(id))
	return "pd" + hex.EncodeToString(h[:])[:12]
}

// attach gives the network namespace of pid an eth0 on the bridge with ip,
// a default route through the bridge, and an up loopback.
func (n *network) attach(id string, pid int, ip net.IP) error {
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.bridge, err)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("dyno netns: %w", err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = vethName(id)
	la.MasterIndex = br.Attrs().Index
	la.MTU = br.Attrs().MTU
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s: %w", la.Name, err)
	}
	host, err := netlink.LinkByName(la.Name)
	if err != nil {
		return fmt.Errorf("veth %s: %w", la.Name, err)
	}
	if err := netlink.LinkSetIsolated(host, true); err != nil {
		return fmt.Errorf("isolate %s: %w", la.Name, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("veth %s up: %w", la.Name, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("dyno netns handle: %w", err)
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("dyno eth0: %w", err)
	}
	ones, _ := n.subnet.Mask.Size()
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(ones, 32)}}); err != nil {
		return fmt.Errorf("dyno address %s: %w", ip, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("dyno eth0 up: %w", err)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.gateway}); err != nil {
		return fmt.Errorf("dyno default route: %w", err)
	}
	// Static neighbour entries both ways: the address may have belonged to
	// an earlier dyno (whose MAC the host still caches), and ARP on a fresh
	// link sometimes delays the first connection by most of a second.
	if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_PERMANENT, IP: ip, HardwareAddr: eth.Attrs().HardwareAddr}); err != nil {
		return fmt.Errorf("host neighbour entry for %s: %w", ip, err)
	}
	if err := h.NeighSet(&netlink.Neigh{LinkIndex: eth.Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_PERMANENT, IP: n.gateway, HardwareAddr: br.Attrs().HardwareAddr}); err != nil {
		return fmt.Errorf("dyno neighbour entry for %s: %w", n.gateway, err)
	}
	waitOperUp(host.Attrs().Index)
	return nil
}

// waitOperUp waits, for at most a second, until the kernel has seen the
// host side of a dyno's veth come up: the bridge port forwards from then
// on. The kernel handles carrier changes asynchronously (linkwatch), and a
// connection to the dyno before that loses its SYN and waits a second for
// the retransmission.
func waitOperUp(index int) {
	deadline := time.Now().Add(time.Second)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 5*time.Millisecond) {
		l, err := netlink.LinkByIndex(index)
		if err != nil || l.Attrs().OperState == netlink.OperUp {
			return
		}
		time.Sleep(delay)
	}
}
