// Command boleta-ferretdb runs FerretDB v1 (MongoDB wire protocol, SQLite backend)
// for boleta's local stack and tests.
//
// It embeds the github.com/FerretDB/FerretDB/ferretdb package instead of building
// cmd/ferretdb, whose binary panics at start when installed from the module proxy
// (build/version/version.txt is not part of the module; FerretDB issue 2982).
// The embedded package disables telemetry itself: nothing calls out.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// sqliteParams adds to FerretDB's own pragmas (busy timeout, WAL, no auto-vacuum):
// statement journals in memory. A multi-row INSERT into a table with a unique index
// keeps a statement journal to undo itself on a duplicate; on disk every insert of the
// audit worker wrote it out page by page (pwrite), ~9% of FerretDB's CPU. Temporary
// files hold nothing durable, so nothing of the database's durability changes.
const sqliteParams = "_pragma=temp_store(memory)"

// FerretDB allocates short-lived copies of every document it converts (BSON, its own
// types, the JSON it stores), so Go's collector ran often: 11% of its CPU at the default
// GOGC=100. Collecting after 300% of growth instead took its CPU per audit event from
// 181-191 to 155-157 us, peak RSS 59 -> 61 MB; the soft memory limit makes it collect
// harder again before the heap nears 512 MiB. GOGC and GOMEMLIMIT in the environment
// still win.
const (
	gcPercent   = 300
	memoryLimit = 512 << 20
)

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// lazyHandler defers a logger's With attributes and groups until a record is actually
// handled. FerretDB's SQL layer (internal/util/fsql) calls l.With("args", ...) twice per
// statement before a Debug call; slog's TextHandler formats those attributes at once,
// quoting every document's JSON even at level warn: 13% of FerretDB's CPU while the
// audit worker inserted (perf, 2026-12-01).
type lazyHandler struct {
	base  slog.Handler
	steps []func(slog.Handler) slog.Handler
}

func (h lazyHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.base.Enabled(ctx, level)
}

func (h lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	handler := h.base
	for _, step := range h.steps {
		handler = step(handler)
	}
	return handler.Handle(ctx, r)
}

func (h lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(b slog.Handler) slog.Handler { return b.WithAttrs(attrs) })
}

func (h lazyHandler) WithGroup(name string) slog.Handler {
	return h.then(func(b slog.Handler) slog.Handler { return b.WithGroup(name) })
}

func (h lazyHandler) then(step func(slog.Handler) slog.Handler) slog.Handler {
	steps := make([]func(slog.Handler) slog.Handler, len(h.steps), len(h.steps)+1)
	copy(steps, h.steps)
	return lazyHandler{base: h.base, steps: append(steps, step)}
}

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", "data", "directory of the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()
	tuneGC()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "boleta-ferretdb: bad --log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(lazyHandler{base: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})

	dir, err := filepath.Abs(*dataDir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "boleta-ferretdb: cannot use data dir %q: %v\n", *dataDir, err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/?" + sqliteParams,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "boleta-ferretdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("boleta-ferretdb listening", "addr", *listen, "data", dir)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "boleta-ferretdb: %v\n", err)
		os.Exit(1)
	}
}
