package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// upstreamBody is what the shared upstream answers.
const upstreamBody = "hello from the upstream\n"

// startUpstream runs nginx returning a fixed body: the upstream every proxy
// under test forwards to.
func startUpstream(dir string, port int) (*proc, error) {
	return startNginx(dir, "upstream", upstreamConf(dir, "upstream", port))
}

// startUpstreamOn is startUpstream, named name, pinned to the CPUs cpus
// (taskset's list).
func startUpstreamOn(dir, name string, port int, cpus string) (*proc, error) {
	path := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(path, []byte(upstreamConf(dir, name, port)), 0o644); err != nil {
		return nil, err
	}
	return startProc(name, nil, "taskset", "-c", cpus, "nginx", "-c", path, "-e", filepath.Join(dir, name+".stderr"))
}

// upstreamConf is the upstream's nginx configuration; name keeps its pid
// and log files apart from another's.
func upstreamConf(dir, name string, port int) string {
	return fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/%[4]s.pid;
error_log %[1]s/%[4]s.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/ub; proxy_temp_path %[1]s/up; fastcgi_temp_path %[1]s/uf; uwsgi_temp_path %[1]s/uu; scgi_temp_path %[1]s/us;
  server {
    listen 127.0.0.1:%[2]d;
    location / { default_type text/plain; return 200 %[3]q; }
  }
}
`, dir, port, upstreamBody, name)
}

// startNginxProxy runs nginx proxy_pass (the engine Kong runs on).
func startNginxProxy(dir string, port, upstream int) (*proc, error) {
	conf := fmt.Sprintf(`worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/nb; proxy_temp_path %[1]s/np; fastcgi_temp_path %[1]s/nf; uwsgi_temp_path %[1]s/nu; scgi_temp_path %[1]s/ns;
  upstream up { server 127.0.0.1:%[3]d; keepalive 256; }
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, port, upstream)
	return startNginx(dir, "nginx", conf)
}

func startNginx(dir, name, conf string) (*proc, error) {
	path := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startProc(name, nil, "nginx", "-c", path, "-e", filepath.Join(dir, name+".stderr"))
}

// startCaddy runs Caddy's reverse_proxy.
func startCaddy(dir string, port, upstream int) (*proc, error) {
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
}
http://127.0.0.1:%d {
	reverse_proxy 127.0.0.1:%d
}
`, port, upstream)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startProc("caddy", []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir},
		"caddy", "run", "--config", path, "--adapter", "caddyfile")
}

// startHAProxy runs HAProxy in HTTP mode with connection reuse.
func startHAProxy(dir string, port, upstream int) (*proc, error) {
	conf := fmt.Sprintf(`global
  maxconn 4096
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  server s1 127.0.0.1:%d
`, port, upstream)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startProc("haproxy", nil, "haproxy", "-db", "-f", path)
}
