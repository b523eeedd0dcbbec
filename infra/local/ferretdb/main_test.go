package main

import (
	"bytes"
	"database/sql"
	"log/slog"
	"os"
	"runtime/debug"
	"testing"

	_ "modernc.org/sqlite"
)

// counted is an attribute value that counts how often a handler resolved it.
type counted struct{ resolved *int }

func (c counted) LogValue() slog.Value {
	*c.resolved++
	return slog.StringValue("resolved")
}

func newLogger(buf *bytes.Buffer, lazy bool) *slog.Logger {
	var handler slog.Handler = slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level:       slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	})
	if lazy {
		handler = lazyHandler{base: handler}
	}
	return slog.New(handler)
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestLazyHandlerResolvesNothingForARecordBelowTheLevel(t *testing.T) {
	var buf bytes.Buffer
	resolved := 0
	newLogger(&buf, true).With("args", counted{&resolved}).Debug(">>> INSERT")
	if resolved != 0 || buf.Len() != 0 {
		t.Fatalf("a debug record at level warn resolved its attributes %d times and wrote %q",
			resolved, buf.String())
	}
}

func TestTextHandlerAloneResolvesAttributesEagerly(t *testing.T) {
	// What lazyHandler is for: without it, With formats the attributes at once.
	var buf bytes.Buffer
	resolved := 0
	newLogger(&buf, false).With("args", counted{&resolved}).Debug(">>> INSERT")
	if resolved != 1 {
		t.Fatalf("slog's TextHandler resolved a With attribute %d times; expected 1", resolved)
	}
}

func TestLazyHandlerWritesWhatTheTextHandlerWrites(t *testing.T) {
	var lazy, eager bytes.Buffer
	for _, c := range []struct {
		buf  *bytes.Buffer
		lazy bool
	}{{&lazy, true}, {&eager, false}} {
		l := newLogger(c.buf, c.lazy).With("conn", 7).WithGroup("sql").With("args", "x y")
		l.Warn("slow statement", "ms", 120)
		l.Info("not written")
	}
	if lazy.String() != eager.String() || lazy.Len() == 0 {
		t.Fatalf("lazy wrote %q, the text handler %q", lazy.String(), eager.String())
	}
}

func TestTuneGCKeepsWhatTheEnvironmentSets(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	os.Unsetenv("GOGC")
	os.Unsetenv("GOMEMLIMIT")
	tuneGC()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("GC percent %d; expected %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Fatalf("memory limit %d; expected %d", got, memoryLimit)
	}

	t.Setenv("GOGC", "50")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 30)
	tuneGC()
	if got := debug.SetGCPercent(-1); got != 50 {
		t.Fatalf("GOGC=50 in the environment, yet the GC percent became %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Fatalf("GOMEMLIMIT=1GiB in the environment, yet the limit became %d", got)
	}
}

func TestSQLiteKeepsStatementJournalsInMemory(t *testing.T) {
	// The driver FerretDB opens its databases with, given our parameters.
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/t.sqlite?"+sqliteParams)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var store int
	if err := db.QueryRow("PRAGMA temp_store").Scan(&store); err != nil {
		t.Fatal(err)
	}
	if store != 2 { // 0 default (a file), 1 file, 2 memory
		t.Fatalf("temp_store is %d; expected 2 (memory)", store)
	}
}
