// Command nth is a stand-in for aws-node-termination-handler in kind clusters, where the real image cannot be
// pulled (no registry here) and could not work anyway (it needs SQS and EC2). It serves what the kubelet and
// Prometheus talk to, on the ports and paths the real one uses with kOps' settings: the probes server
// (PROBES_SERVER_PORT, default 8080, PROBES_SERVER_ENDPOINT, default /healthz) and the metrics server
// (PROMETHEUS_SERVER_PORT, default 9092, /metrics). With hostNetwork these are bound on the node itself, so a
// second copy on the same node fails to bind, as the real one would. The version it reports is NTH_VERSION,
// set in the image by tools/kind/node-image.sh (one image per NTH version the scenarios deploy).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func main() {
	version := env("NTH_VERSION", "unknown")
	node := env("NODE_NAME", "")
	probes := http.NewServeMux()
	probes.HandleFunc(env("PROBES_SERVER_ENDPOINT", "/healthz"), func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-NTH-Version", version)
		fmt.Fprintln(w, "OK")
	})
	metrics := http.NewServeMux()
	metrics.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# HELP nth_standin_info Stand-in for aws-node-termination-handler.\n")
		fmt.Fprintf(w, "# TYPE nth_standin_info gauge\nnth_standin_info{version=%q,node=%q} 1\n", version, node)
	})
	servers := []*http.Server{
		{Addr: ":" + env("PROBES_SERVER_PORT", "8080"), Handler: probes, ReadHeaderTimeout: 5 * time.Second},
		{Addr: ":" + env("PROMETHEUS_SERVER_PORT", "9092"), Handler: metrics, ReadHeaderTimeout: 5 * time.Second},
	}
	failed := make(chan error, len(servers))
	for _, server := range servers {
		go func(server *http.Server) {
			if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		}(server)
	}
	log.Printf("aws-node-termination-handler stand-in %s on node %q: probes %s, metrics %s",
		version, node, servers[0].Addr, servers[1].Addr)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-failed:
		log.Fatalf("cannot serve: %v", err)
	case sig := <-stop:
		log.Printf("%s: shutting down", sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, server := range servers {
		_ = server.Shutdown(ctx)
	}
}
