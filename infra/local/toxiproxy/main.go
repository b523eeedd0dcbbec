// Command boleta-toxiproxy runs Shopify's Toxiproxy server for boleta's chaos suite: a TCP
// proxy between each client and server of the private stack whose faults (latency,
// partitions, resets, bandwidth) the tests add and remove through its HTTP API.
//
// It embeds the github.com/Shopify/toxiproxy/v2 package as its own cmd/server does, with
// only the flags boleta uses; it makes no outgoing connection but to the proxies' upstreams.
package main

import (
	"flag"
	"math/rand"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/Shopify/toxiproxy/v2"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address of the HTTP API")
	port := flag.String("port", "8474", "port of the HTTP API")
	seed := flag.Int64("seed", time.Now().UnixNano(), "seed of the toxics' randomness")
	flag.Parse()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-signals
		os.Exit(0)
	}()

	rand.Seed(*seed) //nolint:staticcheck // toxiproxy v2.5 draws its jitter from math/rand
	logger := zerolog.New(os.Stderr).With().Timestamp().Logger().Level(zerolog.InfoLevel)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	server.Listen(*host, *port)
}
