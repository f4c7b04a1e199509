package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxResponse bounds a result read back (Lambda's own limit is 6 MB).
const maxResponse = 8 << 20

// Options describe one function.
type Options struct {
	// RIE is the emulator binary (Build); Bootstrap the function's.
	RIE, Bootstrap string
	// Env is the function's environment (NAME=value), as the stack sets
	// it, plus AWS credentials, Region and endpoint.
	Env []string
	// Name is AWS_LAMBDA_FUNCTION_NAME; MemoryMB and Timeout are the
	// function's settings (defaults 256 MB and 30 s).
	Name     string
	MemoryMB int
	Timeout  time.Duration
}

// Function is a running emulator with one function.
type Function struct {
	addr string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer
}

// Start runs the emulator on free loopback ports and waits until it
// accepts invocations. The bootstrap itself starts on the first Invoke.
func Start(ctx context.Context, o Options) (*Function, error) {
	if o.MemoryMB == 0 {
		o.MemoryMB = 256
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Name == "" {
		o.Name = "function"
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f := &Function{addr: invokeAddr, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", done: make(chan struct{})}
	f.cmd = exec.Command(o.RIE, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr, o.Bootstrap)
	f.cmd.Env = append(baseEnv(), o.Env...)
	f.cmd.Env = append(f.cmd.Env,
		"AWS_LAMBDA_FUNCTION_NAME="+o.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(o.Timeout/time.Second)),
		"LOG_LEVEL=warn")
	f.cmd.Stdout, f.cmd.Stderr = f, f
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	go func() { _ = f.cmd.Wait(); close(f.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", invokeAddr, time.Second)
		if err == nil {
			c.Close()
			return f, nil
		}
		select {
		case <-f.done:
			return nil, fmt.Errorf("the emulator exited: %s", f.Logs())
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("the emulator did not listen on %s: %w", invokeAddr, err)
		}
	}
}

// baseEnv is the part of this process's environment a function may see:
// none of its AWS settings, so only Options.Env configures the SDK.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "SKYPORT_") {
			env = append(env, kv)
		}
	}
	return env
}

// Addr is the emulator's Invoke API address (host:port), where Lambda's
// POST /2015-03-31/functions/function/invocations runs the function.
func (f *Function) Addr() string { return f.addr }

func (f *Function) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(b)
}

// Logs returns what the emulator and the function wrote.
func (f *Function) Logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

// ErrFunction reports an invocation the function answered with an error.
var ErrFunction = errors.New("the function returned an error")

// Invoke sends one event and returns the function's result. A function
// error (Lambda's {"errorMessage","errorType"}) is ErrFunction, wrapped
// with the message.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d: %s", ErrFunction, resp.StatusCode, body)
	}
	if bytes.Contains(body, []byte(`"errorType"`)) && bytes.HasPrefix(bytes.TrimSpace(body), []byte(`{"errorMessage"`)) {
		return nil, fmt.Errorf("%w: %s", ErrFunction, body)
	}
	return body, nil
}

var initDuration = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

// InitDuration is the init phase the emulator reported for the first
// invocation: from starting the bootstrap to its first request for an
// event.
func (f *Function) InitDuration() (time.Duration, error) {
	m := initDuration.FindStringSubmatch(f.Logs())
	if m == nil {
		return 0, errors.New("no init reported yet")
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// BootstrapPID returns the process id of the function's bootstrap (the
// emulator's child), once an invocation has started it.
func (f *Function) BootstrapPID() (int, error) {
	pid := f.cmd.Process.Pid
	// Any of the emulator's threads may have started it.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return 0, fmt.Errorf("listing the emulator's threads: %w", err)
	}
	for _, path := range tasks {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if fields := strings.Fields(string(data)); len(fields) > 0 {
			return strconv.Atoi(fields[0])
		}
	}
	return 0, errors.New("the bootstrap is not running")
}

// Close stops the emulator and the function.
func (f *Function) Close() error {
	select {
	case <-f.done:
		return nil
	default:
	}
	_ = f.cmd.Process.Kill()
	<-f.done
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
