// Package botdetection is Kong's bot-detection plugin: requests whose
// User-Agent matches a deny pattern or a known bot, and no allow pattern,
// are refused with 403.
package botdetection

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "bot-detection"

// Config is bot-detection's configuration.
type Config struct {
	// Allow and Deny are regular expressions matched against the
	// User-Agent; Allow wins.
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// verdict is what a User-Agent was found to be.
type verdict uint8

const (
	unknown verdict = iota
	allowed
	denied
	bot
)

// cacheSize bounds the verdicts remembered per instance (Kong's
// UA_CACHE_SIZE).
const cacheSize = 10_000

// BotDetection is the handler built for one plugin instance of one
// snapshot.
type BotDetection struct {
	allow, deny []*regexp.Regexp

	mu    sync.RWMutex
	cache map[string]verdict
}

var (
	_ plugin.Handler      = (*BotDetection)(nil)
	_ plugin.Accessor     = (*BotDetection)(nil)
	_ plugin.ViewAccessor = (*BotDetection)(nil)
)

var (
	compileBots sync.Once
	botRules    []*regexp.Regexp
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building bot-detection: %w", err)
	}
	compileBots.Do(func() {
		for _, b := range bots {
			botRules = append(botRules, regexp.MustCompile(b))
		}
	})
	bd := &BotDetection{cache: make(map[string]verdict)}
	for _, list := range []struct {
		src []string
		dst *[]*regexp.Regexp
	}{{c.Allow, &bd.allow}, {c.Deny, &bd.deny}} {
		for _, s := range list.src {
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("building bot-detection: %w", err)
			}
			*list.dst = append(*list.dst, re)
		}
	}
	return bd, nil
}

// Name implements plugin.Handler.
func (bd *BotDetection) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/bot-detection/handler.lua.
func (bd *BotDetection) Access(_ *plugin.Context, r *http.Request) *plugin.Response {
	ua, ok := r.Header["User-Agent"]
	if !ok || len(ua) == 0 {
		return nil
	}
	if len(ua) > 1 {
		return plugin.Error(http.StatusBadRequest, "Only one User-Agent header allowed")
	}
	if bd.judge(ua[0]) >= denied {
		return plugin.Error(http.StatusForbidden, "")
	}
	return nil
}

// OnView implements plugin.ViewAccessor: the decision reads the
// User-Agent fields only.
func (bd *BotDetection) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor: Access on the view's
// User-Agent fields, a remembered verdict looked up without copying
// the value.
func (bd *BotDetection) AccessView(_ *plugin.Context, r exchange.Request) *plugin.Response {
	h := r.Header()
	var ua []byte
	n := 0
	for i := range h.Len() {
		if name, value := h.At(i); exchange.FieldNameIs(name, "User-Agent") {
			ua = value
			n++
		}
	}
	switch {
	case n == 0:
		return nil
	case n > 1:
		return plugin.Error(http.StatusBadRequest, "Only one User-Agent header allowed")
	}
	bd.mu.RLock()
	v, ok := bd.cache[string(ua)]
	bd.mu.RUnlock()
	if !ok {
		v = bd.judge(string(ua))
	}
	if v >= denied {
		return plugin.Error(http.StatusForbidden, "")
	}
	return nil
}

// judge returns ua's verdict, remembering it; the memory is cleared when
// full, so it stays bounded.
func (bd *BotDetection) judge(ua string) verdict {
	bd.mu.RLock()
	v, ok := bd.cache[ua]
	bd.mu.RUnlock()
	if ok {
		return v
	}
	v = bd.examine(strings.TrimSpace(ua))
	bd.mu.Lock()
	if len(bd.cache) >= cacheSize {
		clear(bd.cache)
	}
	bd.cache[ua] = v
	bd.mu.Unlock()
	return v
}

func (bd *BotDetection) examine(ua string) verdict {
	for _, re := range bd.allow {
		if re.MatchString(ua) {
			return allowed
		}
	}
	for _, re := range bd.deny {
		if re.MatchString(ua) {
			return denied
		}
	}
	for _, re := range botRules {
		if re.MatchString(ua) {
			return bot
		}
	}
	return unknown
}
