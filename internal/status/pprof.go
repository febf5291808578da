package status

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"
)

// Limits of the sampled profiles (/debug/pprof/profile and /trace).
const (
	// defaultProfileSeconds is what go tool pprof asks for when told
	// nothing, and what net/http/pprof defaults to.
	defaultProfileSeconds = 30
	// maxProfileSeconds keeps a typo from holding a connection, and the
	// process's one CPU profiler, for hours.
	maxProfileSeconds = 300
	// profileWriteSlack is the time left, after the sampling, to write
	// the profile out.
	profileWriteSlack = 10 * time.Second
)

// pprofHandler serves the runtime profiles under /debug/pprof/ to the
// holder of token, for operators: CPU (profile), execution trace (trace),
// and the named profiles of runtime/pprof (heap, allocs, goroutine, block,
// mutex, threadcreate) through net/http/pprof's index.
//
// An empty token turns the whole tree off (404): profiles show the code's
// layout, the command line and, in a heap profile, where memory goes, and
// taking a CPU profile costs a few percent of the process; nobody gets
// them by default, not even on loopback. The token is compared like the
// status token (requireToken: digests in constant time, 401 with a
// challenge).
//
// The CPU profile and the trace are served here rather than by
// net/http/pprof, whose handlers refuse any duration at or over the
// server's WriteTimeout (30 s, the very default of go tool pprof): these
// extend the connection's write deadline to the duration asked for. The
// package's init also registers its handlers on http.DefaultServeMux,
// which this process never serves.
func pprofHandler(token string, log *slog.Logger) http.Handler {
	if token == "" {
		return http.HandlerFunc(http.NotFound)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	// go tool pprof resolves symbols with a POST.
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/profile", sampled(log, "cpu", startCPU))
	mux.HandleFunc("GET /debug/pprof/trace", sampled(log, "trace", startTrace))
	return requireToken(token, log, mux)
}

// A sampler starts writing a profile to w and returns the function that
// stops it, or an error when it cannot start (one is running already).
type sampler func(w http.ResponseWriter) (stop func(), err error)

func startCPU(w http.ResponseWriter) (func(), error) {
	if err := rpprof.StartCPUProfile(w); err != nil {
		return nil, err
	}
	return rpprof.StopCPUProfile, nil
}

func startTrace(w http.ResponseWriter) (func(), error) {
	if err := trace.Start(w); err != nil {
		return nil, err
	}
	return trace.Stop, nil
}

// sampled serves a profile that samples for ?seconds= (default 30, at
// most 300), ending early when the client goes away.
func sampled(log *slog.Logger, name string, start sampler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sec := defaultProfileSeconds
		if s := r.URL.Query().Get("seconds"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxProfileSeconds {
				http.Error(w, "pprof: seconds must be 1 to "+strconv.Itoa(maxProfileSeconds), http.StatusBadRequest)
				return
			}
			sec = n
		}
		d := time.Duration(sec) * time.Second
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + profileWriteSlack)); err != nil {
			log.Warn("pprof: extend write deadline", "profile", name, "error", err)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		stop, err := start(w)
		if err != nil {
			// Nothing was written yet: the headers can still change.
			w.Header().Del("Content-Disposition")
			http.Error(w, "pprof: "+name+" profile: "+err.Error(), http.StatusConflict)
			return
		}
		log.Info("pprof: sampling", "profile", name, "seconds", sec, "remote", r.RemoteAddr)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
		stop()
	}
}
