// Command boleta-loadgen drives boleta's gRPC command API from outside Python, so that the
// benchmark measures the service rather than a Python client. It needs no generated stubs:
// requests are encoded with protowire and sent through a pass-through codec.
//
//	boleta-loadgen -mode unary  -target 127.0.0.1:50051 -votes 20000 -callers 64
//	boleta-loadgen -mode batch  -target ... -votes 50000 -batch 500 -callers 4
//	boleta-loadgen -mode steady -target ... -rate 1000 -seconds 30 -out acks.csv
//
// Vote data (band, album, year, rank) cycles through a seed-format JSON file (-file);
// every vote gets a fresh UUID as its vote_id. The summary is one JSON object on stdout.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
)

const (
	castVote  = "/boleta.v1.VotingService/CastVote"
	castVotes = "/boleta.v1.VotingService/CastVotes"
)

// rawCodec passes already-encoded protobuf bytes through gRPC unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

type seedVote struct {
	Name  string `json:"name"`
	Album string `json:"album"`
	Year  string `json:"year"`
	Rank  string `json:"rank"`
}

type summary struct {
	Mode    string  `json:"mode"`
	Votes   int64   `json:"votes"`
	Failed  int64   `json:"failed"`
	Retries int64   `json:"retries"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"votes_per_s"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	Behind  int64   `json:"behind_schedule"`
	Sent    int64   `json:"sent,omitempty"`         // steady: calls sent, answered or not
	SendS   float64 `json:"send_seconds,omitempty"` // steady: from the first send to the last
	Errors  string  `json:"first_error,omitempty"`
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func encodeVote(v seedVote) []byte {
	var b []byte
	for _, f := range []struct {
		num protowire.Number
		val string
	}{{1, uuid4()}, {3, v.Name}, {4, v.Album}, {5, v.Year}, {6, v.Rank}} {
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		b = protowire.AppendString(b, f.val)
	}
	return b
}

// wrap encodes votes as field 1 of a request (CastVoteRequest.vote or CastVotesRequest.votes).
func wrap(votes ...[]byte) []byte {
	var b []byte
	for _, v := range votes {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	return b
}

// position reads partition (3) and offset (4) of a CastVoteResponse.
func position(b []byte) (int64, int64) {
	var partition, offset int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return -1, -1
		}
		b = b[n:]
		if typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if num == 3 {
				partition = int64(v)
			} else if num == 4 {
				offset = int64(v)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return -1, -1
		}
		b = b[m:]
	}
	return partition, offset
}

// accepted counts the VoteResults of a CastVotesResponse whose outcome is "accepted" (1).
func accepted(b []byte) int64 {
	var count int64
	for len(b) > 0 {
		_, _, n := protowire.ConsumeTag(b)
		if n < 0 {
			return count
		}
		b = b[n:]
		result, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return count
		}
		b = b[m:]
		if len(result) > 0 {
			if num, _, _ := protowire.ConsumeTag(result); num == 1 {
				count++
			}
		}
	}
	return count
}

type client struct {
	attempts int
	timeout  time.Duration
	conns    []*grpc.ClientConn
	seeds    []seedVote
	next     atomic.Uint64
	fail     atomic.Int64
	retry    atomic.Int64
	errMu    sync.Mutex
	first    string
}

func (c *client) vote() []byte {
	i := c.next.Add(1)
	return encodeVote(c.seeds[int(i)%len(c.seeds)])
}

func (c *client) conn(i int) *grpc.ClientConn { return c.conns[i%len(c.conns)] }

// call sends one request, retrying UNAVAILABLE/RESOURCE_EXHAUSTED with the same bytes
// (so the same vote_ids). Returns the reply or nil.
func (c *client) call(conn *grpc.ClientConn, method string, req []byte) []byte {
	var reply []byte
	for attempt := 0; attempt < c.attempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := conn.Invoke(ctx, method, &req, &reply, grpc.ForceCodec(rawCodec{}))
		cancel()
		if err == nil {
			return reply
		}
		c.errMu.Lock()
		if c.first == "" {
			c.first = err.Error()
		}
		c.errMu.Unlock()
		if attempt+1 < c.attempts {
			c.retry.Add(1)
			time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
		}
	}
	c.fail.Add(1)
	return nil
}

// timed is a summary of a run with per-call latencies (sorted here).
func timed(mode string, lat []time.Duration, elapsed float64) summary {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return summary{Mode: mode, Votes: int64(len(lat)), Seconds: elapsed,
		PerSec: float64(len(lat)) / elapsed, P50Ms: quantile(lat, 0.50), P99Ms: quantile(lat, 0.99)}
}

func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// fanOut runs work(0..n-1) on n goroutines; returns the seconds until all are done.
func fanOut(n int, work func(w int)) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			work(w)
		}(w)
	}
	wg.Wait()
	return time.Since(start).Seconds()
}

func runUnary(c *client, votes, callers int) summary {
	per := votes / callers
	lat := make([][]time.Duration, callers)
	elapsed := fanOut(callers, func(w int) {
		conn := c.conn(w)
		for i := 0; i < per; i++ {
			t := time.Now()
			if c.call(conn, castVote, wrap(c.vote())) != nil {
				lat[w] = append(lat[w], time.Since(t))
			}
		}
	})
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return timed("unary", all, elapsed)
}

func runBatch(c *client, votes, batch, callers int) summary {
	requests := make(chan []byte, callers)
	go func() {
		for sent := 0; sent < votes; sent += batch {
			encoded := make([][]byte, 0, batch)
			for i := 0; i < batch && sent+i < votes; i++ {
				encoded = append(encoded, c.vote())
			}
			requests <- wrap(encoded...)
		}
		close(requests)
	}()
	var ok atomic.Int64
	elapsed := fanOut(callers, func(w int) {
		conn := c.conn(w)
		for req := range requests {
			if reply := c.call(conn, castVotes, req); reply != nil {
				ok.Add(accepted(reply))
			}
		}
	})
	return summary{Mode: "batch", Votes: ok.Load(), Seconds: elapsed, PerSec: float64(ok.Load()) / elapsed}
}

// runSteady sends CastVote at a fixed rate and writes one line per acknowledged vote:
// sent_unix_ns,ack_unix_ns,partition,offset. Its summary's votes and votes_per_s are the
// acknowledged ones (over the run, until the last call ended); sent and send_seconds give
// the offered rate; failed counts the calls that failed or timed out.
func runSteady(c *client, rate float64, seconds float64, out string) summary {
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var behind int64
	total := int(rate * seconds)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else if d < -10*time.Millisecond {
			behind++
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := wrap(c.vote())
			sent := time.Now()
			reply := c.call(c.conn(i), castVote, req)
			if reply == nil {
				return
			}
			acked := time.Now()
			p, o := position(reply)
			mu.Lock()
			lat = append(lat, acked.Sub(sent))
			fmt.Fprintf(w, "%d,%d,%d,%d\n", sent.UnixNano(), acked.UnixNano(), p, o)
			mu.Unlock()
		}(i)
	}
	sending := time.Since(start).Seconds()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	s := timed("steady", lat, elapsed)
	s.Behind, s.Sent, s.SendS = behind, int64(total), sending
	return s
}

func main() {
	mode := flag.String("mode", "unary", "unary, batch or steady")
	target := flag.String("target", "127.0.0.1:50051", "host:port of the command service")
	file := flag.String("file", "", "seed-format JSON file of votes to cycle through")
	votes := flag.Int("votes", 10000, "votes to cast (unary, batch)")
	callers := flag.Int("callers", 64, "concurrent callers (unary, batch)")
	batch := flag.Int("batch", 500, "votes per CastVotes request")
	conns := flag.Int("conns", 4, "HTTP/2 connections (SO_REUSEPORT spreads them over processes)")
	rate := flag.Float64("rate", 1000, "votes per second (steady)")
	seconds := flag.Float64("seconds", 30, "duration (steady)")
	out := flag.String("out", "acks.csv", "per-vote acknowledgements (steady)")
	flag.Parse()

	seeds := []seedVote{{"Bohemia Suburbana", "Lluvia de Xelajú", "1998", "1st"}}
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err == nil {
			err = json.Unmarshal(data, &seeds)
		}
		if err != nil || len(seeds) == 0 {
			fmt.Fprintf(os.Stderr, "cannot read votes from %s: %v\n", *file, err)
			os.Exit(2)
		}
	}
	// A steady run measures latency: a call that times out is a failure, not retried.
	c := &client{seeds: seeds, attempts: 5, timeout: 30 * time.Second}
	if *mode == "steady" {
		c.attempts, c.timeout = 1, 10*time.Second
	}
	for i := 0; i < *conns; i++ {
		// WithNoProxy-like behaviour: a fresh connection each, so the kernel can spread them.
		conn, err := grpc.NewClient(*target,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(8<<20)),
		)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		conn.Connect()
		defer conn.Close()
		c.conns = append(c.conns, conn)
	}
	var s summary
	switch *mode {
	case "unary":
		s = runUnary(c, *votes, *callers)
	case "batch":
		s = runBatch(c, *votes, *batch, *callers)
	case "steady":
		s = runSteady(c, *rate, *seconds, *out)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", *mode)
		os.Exit(2)
	}
	s.Failed, s.Retries, s.Errors = c.fail.Load(), c.retry.Load(), c.first
	_ = json.NewEncoder(os.Stdout).Encode(s)
}
