package status

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server limits. The endpoint faces operators and scrapers, not the
// internet, but a stuck or slow client must still not hold a connection or
// a goroutine for ever (slowloris: ReadHeaderTimeout).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// writeTimeout leaves room for a snapshot (snapshotTimeout) or a
	// scrape (collectTimeout) to finish and be written.
	writeTimeout   = 30 * time.Second
	idleTimeout    = 60 * time.Second
	maxHeaderBytes = 16 << 10
	// shutdownGrace is how long in-flight requests get once ctx ends.
	shutdownGrace = 5 * time.Second
)

// Serve runs an http.Server for h on ln until ctx ends, then shuts it down,
// giving in-flight requests up to 5 s before their connections are closed.
// It returns nil on a clean stop, an error matching ErrShutdownTimeout when
// the grace period ran out, and the server's error if serving failed first.
// Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serve(ctx, ln, h, shutdownGrace)
}

// serve is Serve with the grace period as a parameter, for tests.
func serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	if ln == nil {
		return errNilListener
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Requests carry ctx's values but not its cancellation: the
		// end of ctx starts the graceful shutdown, which lets requests
		// in flight finish instead of failing them at once.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		// Serve failed before anyone asked it to stop (the listener
		// broke); it always returns non-nil.
		return serveError(err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if shutErr != nil {
		// Grace over: drop the connections that are left.
		shutErr = errors.Join(shutdownError(shutErr), srv.Close())
	}
	// Serve returns ErrServerClosed as soon as Shutdown starts.
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(serveError(err), shutErr)
	}
	return shutErr
}
