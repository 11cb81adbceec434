/*
 * conf.c  Configuration: the option table and the code it drives
 *         (parsing, precedence, validation, --help, redaction).
 *
 * Values are kept as text exactly once per (option, n) slot; the slot
 * remembers which source set it so a lower-precedence source can never
 * override a higher one, whatever order the loaders are called in.
 *
 * Main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "core/conf.h"
#include "engines/engine.h"
#include "policy/policy.h"
#include "brain/brain.h"

#define CONF_LINE_MAX   4096        /* longest accepted line/value     */
#define CONF_FILE_MAX   (1 << 20)   /* largest accepted config file    */
#define CONF_NUM_MAX    99          /* numbered keys: key_1..key_99    */
#define CONF_MSG_MAX    1024
#define CONF_ENV_PREFIX "AGENTLINE_"
#define CONF_FILE_SUFFIX "_file"

/* Precedence of sources, lowest first. */
enum conf_rank {
	RANK_FILE = 1,
	RANK_ENV,
	RANK_SET,
};

/* One value that some source has set. */
struct conf_ent {
	struct le le;
	const struct conf_opt *opt;
	unsigned n;             /* 0 for the plain key, else key_<n>     */
	char *value;            /* text; for _file: content once read    */
	char *path;             /* set when given as <key>_file          */
	char *source;           /* "config.conf:3", "env ...", "--set"   */
	enum conf_rank rank;
};

struct conf {
	struct list ents;       /* struct conf_ent                       */
	unsigned nload_errs;    /* problems already reported by loaders  */
};


static conf_check_h check_listen;
static conf_check_h check_cidr;
static conf_check_h check_host;
static conf_check_h check_ws_path;
static conf_check_h check_ice_url;
static conf_check_h check_user;
static conf_check_h check_display_name;
static conf_check_h check_nonempty;
static conf_check_h check_dir;
static conf_check_h check_app;
static conf_check_h check_events_file;
static conf_check_h check_stt;
static conf_check_h check_tts;
static conf_check_h check_caller_groups;
static conf_check_h check_dtmf_digit;
static conf_check_h check_pin;
static conf_check_h check_brain;
static conf_check_h check_temperature;
static conf_check_h check_playbook;
static conf_check_h check_hostport;
static conf_check_h check_http_url;


/*
 * The option table. CONF_LIST uses min/max as bounds on the item count
 * and, when `choices` is set, accepts only those items (case-insensitive,
 * stored in the table's spelling); checkh then validates each item.
 */
const struct conf_opt conf_opts[] = {
	{"sip_listen", CONF_LIST, "udp:127.0.0.1:5060,tcp:127.0.0.1:5060",
	 1, 16, NULL, 0, check_listen,
	 "SIP listeners, proto:ADDR:PORT with proto udp|tcp|tls, IPv6 as "
	 "udp:[::1]:5060; a tls: listener without sip_tls_cert/key gets a "
	 "generated self-signed certificate"},
	{"sip_tls_cert", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "PEM certificate (chain) of the TLS listener; unset = self-signed"},
	{"sip_tls_key", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "PEM private key of the TLS listener; unset = self-signed"},
	{"sip_tls_ca", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "CA file for verifying TLS servers; unset = system store"},
	{"sip_host", CONF_STR, NULL, 0, 0, NULL, 0, check_host,
	 "PBX/registrar host name or IP; unset = direct mode (no "
	 "registration)"},
	{"sip_port", CONF_INT, "0", 0, 65535, NULL, 0, NULL,
	 "PBX/registrar port; 0 = default port of sip_transport"},
	{"sip_transport", CONF_ENUM, "tls", 0, 0, "udp|tcp|tls|wss", 0, NULL,
	 "transport towards the PBX; wss = SIP over secure WebSocket "
	 "(RFC 7118) to a WebRTC gateway, calls use ICE, DTLS-SRTP and Opus"},
	{"sip_ws_path", CONF_STR, "/", 0, 0, NULL, 0, check_ws_path,
	 "HTTP path of the gateway's SIP WebSocket (sip_transport = wss)"},
	{"sip_ws_password", CONF_STR, NULL, 0, 0, NULL,
	 CONF_F_SECRET | CONF_F_NUMBERED, NULL,
	 "password for the gateway's WebRTC edge when it differs from "
	 "sip_password (sip_transport = wss); unset = sip_password"},
	{"ice_stun_urls", CONF_LIST, "", 0, 8, NULL, 0, check_ice_url,
	 "STUN servers (stun:HOST[:PORT]) for a server-reflexive ICE "
	 "candidate on WebRTC calls we place; empty = host candidate only"},
	{"ice_turn_urls", CONF_LIST, "", 0, 8, NULL, 0, check_ice_url,
	 "TURN servers (turn:HOST[:PORT][?transport=udp|tcp]) for a relayed "
	 "ICE candidate on WebRTC calls we place; empty = none"},
	{"ice_turn_username", CONF_STR, NULL, 0, 0, NULL, 0, NULL,
	 "TURN user name (ice_turn_urls)"},
	{"ice_turn_password", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "TURN password (ice_turn_urls)"},
	{"sip_extension", CONF_STR, NULL, 0, 0, NULL, CONF_F_NUMBERED,
	 check_user,
	 "extension (SIP user) to register; required when sip_host is set"},
	{"sip_username", CONF_STR, NULL, 0, 0, NULL, CONF_F_NUMBERED,
	 check_user,
	 "authentication user name; unset = the extension"},
	{"sip_password", CONF_STR, NULL, 0, 0, NULL,
	 CONF_F_SECRET | CONF_F_NUMBERED, NULL,
	 "authentication password"},
	{"sip_display_name", CONF_STR, "agentline", 0, 0, NULL, 0,
	 check_display_name,
	 "display name in From headers"},
	{"sip_register_expires", CONF_INT, "300", 60, 86400, NULL, 0, NULL,
	 "registration lifetime in seconds"},
	{"sip_user_agent", CONF_STR, "agentline", 0, 0, NULL, 0,
	 check_nonempty,
	 "User-Agent header"},
	{"sip_inbound_allow", CONF_LIST, "127.0.0.0/8,::1/128", 0, 256,
	 NULL, 0, check_cidr,
	 "networks (CIDR, IPv4 or IPv6) allowed to call in directly; "
	 "empty = none"},
	{"rtp_port_min", CONF_INT, "10000", 1024, 65535, NULL, 0, NULL,
	 "lowest local RTP port"},
	{"rtp_port_max", CONF_INT, "20000", 1024, 65535, NULL, 0, NULL,
	 "highest local RTP port (must be above rtp_port_min)"},
	{"rtp_timeout_secs", CONF_INT, "20", 1, 300, NULL, CONF_F_RUNTIME,
	 NULL,
	 "hang up when no RTP arrives for this many seconds"},
	{"media_srtp", CONF_ENUM, "auto", 0, 0,
	 "mandatory|optional|off|auto", 0, NULL,
	 "SRTP policy; auto = mandatory on TLS and WSS, optional otherwise"},
	{"codecs", CONF_LIST, "G722,PCMU,PCMA", 1, 3, "G722|PCMU|PCMA", 0,
	 NULL,
	 "audio codecs in order of preference"},
	{"max_calls", CONF_INT, "100", 1, 10000, NULL, CONF_F_RUNTIME, NULL,
	 "maximum concurrent calls; further calls get 486 Busy Here"},
	{"record_dir", CONF_STR, NULL, 0, 0, NULL, 0, check_dir,
	 "directory for call recordings (must exist and be writable); "
	 "unset = no recording"},
	{"app", CONF_STR, "agent", 0, 0, NULL, 0, check_app,
	 "what answers: agent (speech pipeline); diagnostics: echo, "
	 "playback:FILE or tone:HZ (20..8000)"},
	{"events_file", CONF_STR, NULL, 0, 0, NULL, 0, check_events_file,
	 "JSON-lines call event log; unset = off"},
	/* persistence (src/store, docs/persistence.md) */
	{"data_dir", CONF_STR, "data", 0, 0, NULL, 0, NULL,
	 "state directory (agentline.db: calls, turns, messages, caller "
	 "history, run-time settings), created mode 0700; relative to the "
	 "working directory; empty = nothing is persisted"},
	{"retention_days", CONF_INT, "90", 0, 36500, NULL, 0, NULL,
	 "delete calls (turns, tool calls, recordings) and messages (with "
	 "audio) older than this, at start-up and daily; 0 = keep forever"},
	{"ring_timeout_secs", CONF_INT, "60", 1, 600, NULL, CONF_F_RUNTIME,
	 NULL,
	 "give up an outbound call that rings this long"},
	{"drain_secs", CONF_INT, "10", 0, 300, NULL, 0, NULL,
	 "on shutdown, wait this long for calls to end"},
	{"answer_delay_ms", CONF_INT, "0", 0, 60000, NULL, 0, NULL,
	 "ring this long (180 Ringing) before answering an inbound call"},
	{"log_level", CONF_ENUM, "info", 0, 0, "debug|info|warn|error",
	 CONF_F_RUNTIME, NULL,
	 "least severe level that is logged"},
	{"log_format", CONF_ENUM, "text", 0, 0, "text|json", 0, NULL,
	 "log line format"},
	{"jitter_min_ms", CONF_INT, "40", 0, 500, NULL, 0, NULL,
	 "jitter buffer minimum delay"},
	{"jitter_max_ms", CONF_INT, "200", 20, 2000, NULL, 0, NULL,
	 "jitter buffer maximum delay (not below jitter_min_ms)"},
	{"dtmf_inband", CONF_BOOL, "true", 0, 0, NULL, 0, NULL,
	 "also detect DTMF tones in the audio (besides RFC 4733)"},
	/* stt and vad engines */
	{"stt", CONF_STR, "pocketsphinx", 0, 0, NULL, 0, check_stt,
	 "speech recogniser engine"},
	{"stt_model_dir", CONF_STR, "/usr/share/pocketsphinx/model/en-us",
	 0, 0, NULL, 0, NULL,
	 "pocketsphinx model folder (en-us/, en-us.lm.bin, "
	 "cmudict-en-us.dict)"},
	{"stt_pocketsphinx_maxhmmpf", CONF_INT, "4000", 100, 100000, NULL,
	 0, NULL,
	 "pocketsphinx: most HMMs searched per frame (its own default is "
	 "30000); with stt_pocketsphinx_maxwpf 8, 4000 takes 0.47x the CPU "
	 "of pocketsphinx's defaults on phone speech at the same word "
	 "error rate (docs/benchmarks.md)"},
	{"stt_pocketsphinx_maxwpf", CONF_INT, "8", 1, 100000, NULL, 0, NULL,
	 "pocketsphinx: most distinct words leaving the search per frame "
	 "(its own default: no limit)"},
	{"stt_pocketsphinx_fwdflat", CONF_BOOL, "false", 0, 0, NULL, 0, NULL,
	 "pocketsphinx: run the second, flat-lexicon search pass (about "
	 "20% more CPU; it did not improve accuracy on phone speech here)"},
	{"stt_sherpa_model_dir", CONF_STR, NULL, 0, 0, NULL, 0, NULL,
	 "stt = sherpa: streaming transducer model folder (encoder*.onnx, "
	 "decoder*.onnx, joiner*.onnx, tokens.txt)"},
	{"vad", CONF_ENUM, "auto", 0, 0, "auto|energy|silero", 0, NULL,
	 "voice activity detector; auto = silero when its files are "
	 "installed, else energy"},
	{"vad_model", CONF_STR, AGENTLINE_DEPSDIR "/silero/silero_vad.onnx",
	 0, 0, NULL, 0, NULL,
	 "Silero VAD model (.onnx), fetched by scripts/setup.sh"},
	{"sherpa_lib", CONF_STR,
	 AGENTLINE_DEPSDIR "/sherpa-onnx/libsherpa-onnx-c-api.so",
	 0, 0, NULL, 0, NULL,
	 "sherpa-onnx C API library (libonnxruntime.so next to it)"},
	{"vad_threshold", CONF_INT, "50", 1, 99, NULL, 0, NULL,
	 "speech probability threshold in percent"},
	/* agent pipeline and turn-taking */
	{"brain", CONF_STR, "playbook", 0, 0, NULL, 0, check_brain,
	 "what decides the reply: playbook (offline receptionist: takes a "
	 "message), parrot (says back what it heard), script:FILE (a "
	 "caller reading FILE line by line, for demos and tests)"},
	{"playbook", CONF_STR, "reception", 0, 0, NULL, 0, check_playbook,
	 "playbook (and greeting) of callers whose group names no persona "
	 "of its own: reception|message|intercom|reservation|inquiry or a "
	 "file NAME.txt in playbooks_dir"},
	{"playbooks_dir", CONF_STR, NULL, 0, 0, NULL, 0, check_dir,
	 "folder with your own playbooks (NAME.txt), searched before the "
	 "bundled ones; unset = bundled only"},
	{"parrot_delay_ms", CONF_INT, "0", 0, 60000, NULL, 0, NULL,
	 "parrot brain: answer this late (to tune fillers and barge-in)"},
	/* LLM brain (src/brain/llm.c, docs/llm.md) */
	{"llm_base_url", CONF_STR, "http://127.0.0.1:11434/v1", 0, 0, NULL, 0,
	 check_http_url, "brain = llm: OpenAI-compatible server base URL "
	 "(Ollama, llama.cpp, vLLM, https://api.openai.com/v1, ...); POSTs "
	 "to /chat/completions"},
	{"llm_model", CONF_STR, "llama3.2", 0, 0, NULL, 0, check_nonempty,
	 "brain = llm: model name"},
	{"llm_api_key", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "brain = llm: API key (Bearer); unset for a local server"},
	{"llm_temperature", CONF_STR, "0.7", 0, 0, NULL, 0, check_temperature,
	 "brain = llm: sampling temperature 0..2"},
	{"llm_max_tokens", CONF_INT, "400", 0, 32768, NULL, 0, NULL,
	 "brain = llm: longest answer in tokens (0 = server default)"},
	{"llm_first_token_timeout_ms", CONF_INT, "8000", 500, 120000, NULL, 0,
	 NULL, "brain = llm: give up (apology) when no token arrived this "
	 "long after the request"},
	{"llm_timeout_ms", CONF_INT, "30000", 1000, 300000, NULL, 0, NULL,
	 "brain = llm: total time for one answer"},
	{"llm_retries", CONF_INT, "1", 0, 3, NULL, 0, NULL,
	 "brain = llm: retries after a connect failure or HTTP 5xx (never "
	 "once the answer started)"},
	{"llm_max_tool_rounds", CONF_INT, "4", 0, 16, NULL, 0, NULL,
	 "brain = llm: tool-call rounds per turn; then the model must "
	 "answer without tools"},
	{"llm_tools", CONF_BOOL, "true", 0, 0, NULL, 0, NULL,
	 "brain = llm: offer the tools (a server that rejects them turns "
	 "them off with a warning)"},
	{"llm_system_prompt", CONF_STR, "", 0, 0, NULL, 0, NULL,
	 "brain = llm: base prompt; empty = built in; {owner} is "
	 "greeting_owner"},
	{"llm_fallback", CONF_ENUM, "none", 0, 0, "none|playbook", 0, NULL,
	 "brain = llm: after the apology for a failed answer, the playbook "
	 "brain takes the turn (playbook) or not (none)"},
	{"max_history_turns", CONF_INT, "12", 2, 200, NULL, 0, NULL,
	 "brain = llm: turns kept verbatim; older ones are summarised"},
	{"llm_history_tokens", CONF_INT, "3000", 0, 100000, NULL, 0, NULL,
	 "brain = llm: summarise older turns when the history exceeds "
	 "about this many tokens (0 = turns only)"},
	{"keep_history", CONF_BOOL, "false", 0, 0, NULL, 0, NULL,
	 "brain = llm: resume a returning caller's conversation (by "
	 "normalised number; never for withheld or unknown numbers)"},
	{"language", CONF_ENUM, "en", 0, 0, "en|de", 0, NULL,
	 "language of prompts, fillers, text normalisation and speech"},
	{"greeting_incoming", CONF_STR,
	 "Hello, this is {owner}'s assistant. How can I help?", 0, 0, NULL,
	 0, NULL, "said when an inbound call is answered (empty = silent); "
	 "{owner} is greeting_owner"},
	{"greeting_outgoing", CONF_STR, "", 0, 0, NULL, 0, NULL,
	 "said when an outbound call is answered (empty = silent)"},
	{"greeting_owner", CONF_STR, "the owner", 0, 0, NULL, 0, NULL,
	 "replaces {owner} in the greetings"},
	{"barge_in_mode", CONF_ENUM, "gated", 0, 0, "gated|full|off", 0, NULL,
	 "caller speech stops the agent: after barge_in_min_speech_ms "
	 "(gated), at once (full), never (off)"},
	{"barge_in_min_speech_ms", CONF_INT, "300", 0, 5000, NULL, 0, NULL,
	 "gated barge-in: caller speech needed before the agent stops"},
	{"vad_min_speech_ms", CONF_INT, "120", 20, 2000, NULL, 0, NULL,
	 "speech needed before the caller counts as speaking"},
	{"vad_hangover_ms", CONF_INT, "700", 100, 5000, NULL, 0, NULL,
	 "silence that ends the caller's turn"},
	{"echo_cancel", CONF_BOOL, "true", 0, 0, NULL, 0, NULL,
	 "cancel the agent's own voice coming back from the line"},
	{"filler_delay_ms", CONF_INT, "900", 0, 60000, NULL, 0, NULL,
	 "say a filler when the reply has not started this long after the "
	 "caller finished (0 = never)"},
	{"filler_repeat_ms", CONF_INT, "4000", 0, 60000, NULL, 0, NULL,
	 "repeat a filler this often while still waiting (0 = once)"},
	{"fillers", CONF_STR, "One moment.|Let me see.|Just a second.", 0, 0,
	 NULL, 0, NULL, "filler phrases, separated by |"},
	{"silence_reprompt_secs", CONF_INT, "10", 0, 600, NULL, 0, NULL,
	 "ask whether the caller is still there after this much silence "
	 "(0 = never)"},
	{"silence_reprompt_max", CONF_INT, "2", 0, 20, NULL, 0, NULL,
	 "reprompts before saying goodbye and hanging up"},
	{"max_call_secs", CONF_INT, "1800", 0, 86400, NULL, 0, NULL,
	 "end calls with a closing line after this long (0 = no limit)"},
	/* tools executor (src/brain/tools.c, docs/tools.md) */
	{"hang_up_drain_ms", CONF_INT, "4000", 0, 15000, NULL, 0, NULL,
	 "hang_up tool: wait at most this long for the farewell to play "
	 "out before BYE"},
	{"hang_up_farewell", CONF_STR, "Goodbye.", 0, 0, NULL, 0, NULL,
	 "hang_up tool: line spoken before hanging up when the reply is "
	 "not still playing; empty = none"},
	{"transfer_confirm_message", CONF_STR,
	 "To confirm the transfer, press {digit}.", 0, 0, NULL, 0, NULL,
	 "transfer_blind: line asking the caller for the confirm key "
	 "({digit} = transfer_confirm_digit)"},
	{"entry_name", CONF_STR, NULL, 0, 0, NULL, CONF_F_NUMBERED, NULL,
	 "open_entry: name of a door/gate the agent may open (numbered "
	 "for several: entry_name_2 ...)"},
	{"entry_dtmf", CONF_STR, NULL, 0, 0, NULL,
	 CONF_F_SECRET | CONF_F_NUMBERED, NULL,
	 "open_entry: keypad code sent on the call (RFC 4733) to open it"},
	{"entry_url", CONF_STR, NULL, 0, 0, NULL, CONF_F_NUMBERED, NULL,
	 "open_entry: relay URL that gets a JSON POST to open it (instead "
	 "of entry_dtmf)"},
	{"entry_token", CONF_STR, NULL, 0, 0, NULL,
	 CONF_F_SECRET | CONF_F_NUMBERED, NULL,
	 "open_entry: bearer token of entry_url"},
	{"tts_fallback", CONF_STR, "auto", 0, 0, NULL, 0, NULL,
	 "voice used when the TTS engine fails mid-call: an engine name, "
	 "none, or auto (flite when the primary is a network engine)"},
	{"workers", CONF_INT, "2", 1, 64, NULL, 0, NULL,
	 "worker threads for speech recognition and synthesis"},
	{"workers_nice", CONF_INT, "5", 0, 19, NULL, 0, NULL,
	 "how much nicer (lower CPU priority) the workers run than the "
	 "media thread: when recognition cannot keep up, replies come "
	 "late but playing audio does not break up; 0 = same priority"},
	/* tts engines */
	{"tts", CONF_STR, "flite", 0, 0, NULL, 0, check_tts,
	 "speech synthesiser engine"},
	{"tts_voice", CONF_STR, "", 0, 0, NULL, 0, NULL,
	 "voice of the tts engine (flite: slt|kal16|rms|awb; espeak: "
	 "en-us, en+m3, de, ...); empty = engine default"},
	{"tts_rate", CONF_INT, "100", 50, 200, NULL, 0, NULL,
	 "speaking rate in percent of normal"},
	{"tts_sherpa_model_dir", CONF_STR, NULL, 0, 0, NULL, 0, NULL,
	 "tts = sherpa: Kokoro (model.onnx, voices.bin, tokens.txt, "
	 "espeak-ng-data/) or VITS/Piper (*.onnx, tokens.txt, "
	 "espeak-ng-data/ or lexicon.txt) model folder"},
	{"tts_sherpa_kind", CONF_ENUM, "auto", 0, 0, "auto|kokoro|vits", 0,
	 NULL, "tts = sherpa: model family; auto = kokoro when voices.bin "
	 "is in the folder, else vits"},
	{"tts_sherpa_speaker", CONF_INT, "0", 0, 99999, NULL, 0, NULL,
	 "tts = sherpa: speaker id of a multi-speaker model"},
	/* network speech engines (src/engines/netclient.c) */
	{"net_connect_timeout_ms", CONF_INT, "3000", 100, 60000, NULL, 0,
	 NULL, "network engines: TCP connect + TLS handshake timeout"},
	{"net_first_byte_timeout_ms", CONF_INT, "5000", 100, 120000, NULL, 0,
	 NULL, "network engines: request sent -> first response byte, and "
	 "longest stall while a response streams"},
	{"net_retries", CONF_INT, "1", 0, 3, NULL, 0, NULL,
	 "network engines: retries after a connect failure or HTTP 5xx "
	 "(never once audio was delivered)"},
	{"net_ca_file", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "network engines: PEM CA bundle for TLS; unset = system store"},
	{"stt_url", CONF_STR, "https://api.openai.com", 0, 0, NULL, 0, NULL,
	 "stt = openai: server base URL (OpenAI, faster-whisper-server, "
	 "whisper.cpp server, ...); POSTs to /v1/audio/transcriptions"},
	{"stt_api_key", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "stt = openai: API key (Bearer); required for api.openai.com"},
	{"stt_model", CONF_STR, "whisper-1", 0, 0, NULL, 0, NULL,
	 "stt = openai: model name"},
	{"stt_timeout_ms", CONF_INT, "15000", 1000, 120000, NULL, 0, NULL,
	 "stt = openai|deepgram: total time for one transcription"},
	{"tts_url", CONF_STR, "https://api.openai.com", 0, 0, NULL, 0, NULL,
	 "tts = openai: server base URL; POSTs to /v1/audio/speech"},
	{"tts_api_key", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "tts = openai: API key (Bearer); required for api.openai.com"},
	{"tts_model", CONF_STR, "tts-1", 0, 0, NULL, 0, NULL,
	 "tts = openai: model name"},
	{"tts_openai_voice", CONF_STR, "alloy", 0, 0, NULL, 0, NULL,
	 "tts = openai: voice"},
	{"tts_timeout_ms", CONF_INT, "30000", 1000, 120000, NULL, 0, NULL,
	 "tts = openai|elevenlabs: total time for one sentence"},
	{"elevenlabs_url", CONF_STR, "https://api.elevenlabs.io", 0, 0, NULL,
	 0, NULL, "tts = elevenlabs: server base URL"},
	{"elevenlabs_api_key", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET,
	 NULL, "tts = elevenlabs: API key (xi-api-key); required for "
	 "api.elevenlabs.io"},
	{"elevenlabs_voice_id", CONF_STR, "21m00Tcm4TlvDq8ikWAM", 0, 0, NULL,
	 0, NULL, "tts = elevenlabs: voice id"},
	{"elevenlabs_model", CONF_STR, "eleven_flash_v2_5", 0, 0, NULL, 0,
	 NULL, "tts = elevenlabs: model id"},
	{"deepgram_url", CONF_STR, "wss://api.deepgram.com", 0, 0, NULL, 0,
	 NULL, "stt = deepgram: streaming server base URL (ws:// or wss://)"},
	{"deepgram_api_key", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "stt = deepgram: API key (Authorization: Token); required for "
	 "api.deepgram.com"},
	{"deepgram_model", CONF_STR, "nova-2", 0, 0, NULL, 0, NULL,
	 "stt = deepgram: model"},
	/* control API (src/api) */
	{"control_listen", CONF_STR, "127.0.0.1:8996", 0, 0, NULL, 0,
	 check_hostport,
	 "control API and WebSockets, ADDR:PORT ([::1]:8996 for IPv6); "
	 "empty = off"},
	{"control_tls_cert", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "PEM certificate of the control API (HTTPS); unset = plain HTTP"},
	{"control_tls_key", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "PEM private key of control_tls_cert; unset = in the cert file"},
	{"control_token", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "bearer token of the control API (16+ characters); unset = "
	 "generated into data_dir/control_token (mode 0600)"},
	{"control_max_body_bytes", CONF_INT, "65536", 1024, 262144, NULL, 0,
	 NULL, "largest accepted API request body (413 above)"},
	{"control_max_connections", CONF_INT, "64", 1, 4096, NULL, 0, NULL,
	 "open control API connections (including WebSockets)"},
	{"control_max_subscribers", CONF_INT, "16", 1, 1024, NULL, 0, NULL,
	 "open /api/events and /api/agent/ws WebSockets"},
	{"control_rate_per_min", CONF_INT, "600", 10, 100000, NULL, 0, NULL,
	 "API requests and WebSocket messages per client address per "
	 "minute (429 above)"},
	{"agent_turn_timeout_secs", CONF_INT, "30", 1, 600, NULL,
	 CONF_F_RUNTIME, NULL,
	 "agent WebSocket: wait this long for a taken-over turn's reply, "
	 "then the configured brain answers"},
	{"event_webhook_url", CONF_STR, NULL, 0, 0, NULL, CONF_F_NUMBERED,
	 check_http_url, "http(s) URL that receives call events as signed JSON POSTs "
	 "(numbered for several)"},
	{"event_webhook_secret", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET,
	 NULL, "HMAC-SHA256 key of the X-Agentline-Signature header"},
	/* outbound task calls (brain helper; docs/tools.md) */
	{"outbound_result_url", CONF_STR, NULL, 0, 0, NULL, 0,
	 check_http_url, "http(s) URL that receives the result of each "
	 "outbound task call (call with an objective) as a JSON POST"},
	{"outbound_result_token", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET,
	 NULL, "bearer token sent with the outbound_result_url POSTs"},
	{"amd_action", CONF_ENUM, "message", 0, 0, "message|hangup|off",
	 CONF_F_RUNTIME, NULL,
	 "outbound task call answered by a machine (long greeting, beep): "
	 "leave the objective's message after the beep, hang up, or off "
	 "(no detection)"},
	{"amd_message", CONF_STR, "Hello, this is a message from an "
	 "automated assistant. {objective}. Goodbye.", 0, 0, NULL,
	 CONF_F_RUNTIME, NULL,
	 "what the agent says after a machine's beep ({objective} = the "
	 "call's objective), then it hangs up"},
	{"amd_greeting_ms", CONF_INT, "4000", 1000, 30000, NULL,
	 CONF_F_RUNTIME, NULL,
	 "answering-machine detection: the callee speaking this long "
	 "without a pause of amd_pause_ms is a machine's greeting"},
	{"amd_pause_ms", CONF_INT, "700", 100, 3000, NULL, CONF_F_RUNTIME,
	 NULL, "answering-machine detection: a pause at least this long "
	 "ends a spoken stretch"},
	{"amd_beep_min_ms", CONF_INT, "200", 60, 2000, NULL, CONF_F_RUNTIME,
	 NULL, "answering-machine detection: shortest steady tone "
	 "(400-2000 Hz) taken as the beep"},
	{"amd_window_secs", CONF_INT, "30", 5, 120, NULL, CONF_F_RUNTIME,
	 NULL, "answering-machine detection: listen for a greeting and "
	 "beep this long after the answer"},
	/* trust (src/policy, docs/trust.md) */
	{"caller_groups_file", CONF_STR, NULL, 0, 0, NULL, 0,
	 check_caller_groups,
	 "JSON file of caller groups (privilege, persona, allowed tools, "
	 "number lists); unset = everyone is receptionist (level 0)"},
	{"trust_pai_from", CONF_LIST, "", 0, 32, NULL, 0, check_cidr,
	 "networks (CIDR) whose P-Asserted-Identity is believed (your PBX); "
	 "others are classified by the From user"},
	{"outbound_allow", CONF_LIST, "", 0, 1000, NULL, 0, NULL,
	 "numbers the agent may dial or consult-transfer to (E.164, exact "
	 "after normalisation); empty with no outbound_allow_file = no "
	 "outbound dialing at all"},
	{"outbound_allow_file", CONF_PATH, NULL, 0, 0, NULL, 0, NULL,
	 "file with one allowed outbound number per line (# comments)"},
	{"outbound_privilege", CONF_INT, "2", 0, 3, NULL, 0, NULL,
	 "privilege of outbound calls (2: keys and hold for IVRs, no dialing"
	 " or transfers); a listed callee's group can only lower it"},
	{"transfer_confirm_digit", CONF_STR, "1", 0, 0, NULL, 0,
	 check_dtmf_digit,
	 "key the caller presses to confirm a blind transfer; empty = "
	 "blind transfers off"},
	{"transfer_confirm_secs", CONF_INT, "10", 1, 120, NULL, 0, NULL,
	 "time to press transfer_confirm_digit"},
	{"irreversible_per_call", CONF_INT, "2", 0, 100, NULL, 0, NULL,
	 "IRREVERSIBLE actions (place call, transfers) allowed per call"},
	{"irreversible_per_hour", CONF_INT, "20", 0, 10000, NULL, 0, NULL,
	 "IRREVERSIBLE actions allowed per hour over all calls"},
	{"decline_mode", CONF_ENUM, "reject", 0, 0, "reject|answer", 0, NULL,
	 "declined_at_sip callers: reject = 603 Decline at ring time; "
	 "answer = answer, say decline_message, hang up (app = agent)"},
	{"decline_message", CONF_STR, "Sorry, this line cannot take your "
	 "call. Goodbye.", 0, 0, NULL, 0, NULL,
	 "decline_mode = answer: the one line a declined caller hears"},
	{"auth_passphrase", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, NULL,
	 "callers must say this before the agent engages (case and "
	 "punctuation ignored); unset = off"},
	{"auth_pin", CONF_STR, NULL, 0, 0, NULL, CONF_F_SECRET, check_pin,
	 "DTMF PIN callers may key instead (digits, then # or the full "
	 "length); unset = off"},
	{"auth_max_attempts", CONF_INT, "3", 0, 100, NULL, 0, NULL,
	 "wrong passphrase/PIN attempts before auth_reject_message and "
	 "hang-up (0 = unlimited)"},
	{"auth_group", CONF_STR, NULL, 0, 0, NULL, 0, NULL,
	 "caller group an authenticated caller is raised to (never "
	 "lowered); unset = stay in the number's group"},
	{"auth_prompt_message", CONF_STR,
	 "Please say the passphrase, or key in your PIN.", 0, 0, NULL, 0,
	 NULL, "said instead of the greeting until the caller is "
	 "authenticated (and to a PIN-only caller who speaks)"},
	{"auth_success_message", CONF_STR, "Thank you.", 0,
	 0, NULL, 0, NULL, "said after a right passphrase or PIN, before the "
	 "greeting"},
	{"auth_failure_message", CONF_STR, "Sorry, that is not right. "
	 "Please try again.", 0, 0, NULL, 0, NULL,
	 "said after a wrong passphrase or PIN"},
	{"auth_reject_message", CONF_STR, "Sorry, I cannot help you. "
	 "Goodbye.", 0, 0, NULL, 0, NULL,
	 "said before hanging up after auth_max_attempts failures"},
	{"screen", CONF_BOOL, "true", 0, 0, NULL, 0, NULL,
	 "screen caller turns for prompt injection before the brain"},
	{"screen_max_refusals", CONF_INT, "3", 0, 100, NULL, 0, NULL,
	 "refused turns in a row that end the call (0 = never)"},
	{"screen_refuse_message", CONF_STR, "Sorry, I can't help with that. "
	 "Is there anything else?", 0, 0, NULL, 0, NULL,
	 "said instead of answering a refused turn"},
	{"screen_hangup_message", CONF_STR, "I'm sorry, I can't help with "
	 "this call. Goodbye.", 0, 0, NULL, 0, NULL,
	 "said before hanging up after screen_max_refusals refusals"},
	{"guard_url", CONF_STR, NULL, 0, 0, NULL, 0, NULL,
	 "HTTP classifier: POST {\"text\"} -> {\"verdict\":\"allow|clarify|"
	 "refuse\"}, combined with the screen rules; failure = CLARIFY"},
	{"guard_timeout_ms", CONF_INT, "2000", 100, 30000, NULL, 0, NULL,
	 "guard_url: total time for one verdict"},
	{"dtmf_event_digits", CONF_BOOL, "false", 0, 0, NULL, 0, NULL,
	 "put the pressed key into dtmf events (debugging only: keys may "
	 "be PINs); false = \"*\""},
	{NULL, CONF_STR, NULL, 0, 0, NULL, 0, NULL, NULL},
};

/* Options whose default is the value of another option (same n). */
static const struct {
	const char *key;
	const char *from;
} conf_def_from[] = {
	{"sip_username", "sip_extension"},
};

/* The key every numbered account is anchored on. */
static const char conf_anchor[] = "sip_extension";

/* AGENTLINE_* variables that belong to tooling, not to the config. */
static const char *const conf_env_reserved[] = {
	"AGENTLINE_CONFIG",
	"AGENTLINE_TEST_",
};


static void report(unsigned *cnt, conf_err_h *errh, void *arg,
		   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(unsigned *cnt, conf_err_h *errh, void *arg,
		   const char *fmt, ...)
{
	char msg[CONF_MSG_MAX];
	va_list ap;

	if (cnt)
		++*cnt;
	if (!errh)
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errh(msg, arg);
}


static void ent_destructor(void *data)
{
	struct conf_ent *ent = data;

	list_unlink(&ent->le);
	mem_deref(ent->value);
	mem_deref(ent->path);
	mem_deref(ent->source);
}


static void conf_destructor(void *data)
{
	struct conf *conf = data;

	list_flush(&conf->ents);
}


int conf_alloc(struct conf **confp)
{
	struct conf *conf;

	if (!confp)
		return EINVAL;

	conf = mem_zalloc(sizeof(*conf), conf_destructor);
	if (!conf)
		return ENOMEM;

	list_init(&conf->ents);
	*confp = conf;
	return 0;
}


/* Well-formed UTF-8 without control characters (tab allowed). */
static const char *text_problem(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t n;

		if (c == '\0')
			return "NUL byte";
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return "control character";
			++i;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		}
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		}
		else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		}
		else {
			return "invalid UTF-8";
		}
		if (len - i <= n)
			return "invalid UTF-8";
		for (size_t k = 1; k <= n; k++) {
			unsigned char cc = (unsigned char)s[i + k];
			if ((cc & 0xc0) != 0x80)
				return "invalid UTF-8";
			cp = (cp << 6) | (cc & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return "invalid UTF-8";
		i += n + 1;
	}

	return NULL;
}


static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}


static const struct conf_opt *opt_lookup(const char *key, size_t len)
{
	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		if (strlen(o->key) == len && 0 == memcmp(o->key, key, len))
			return o;
	}
	return NULL;
}


/*
 * Resolve "key", "key_N", "key_file" and "key_N_file" to the option,
 * n (0 for the plain key, 1..99 for key_N) and whether the value
 * names a file.
 */
static const struct conf_opt *key_resolve(const char *key, unsigned *np,
					  bool *filep)
{
	const struct conf_opt *opt;
	size_t len, slen = sizeof(CONF_FILE_SUFFIX) - 1;
	bool file = false;
	unsigned n = 0;

	if (!key)
		return NULL;

	len = strlen(key);
	opt = opt_lookup(key, len);
	if (opt)
		goto out;

	if (len > slen && 0 == memcmp(key + len - slen, CONF_FILE_SUFFIX,
				      slen)) {
		file = true;
		len -= slen;
		opt = opt_lookup(key, len);
		if (opt)
			goto out;
	}

	/* _N with N = 1..99, no leading zero */
	for (size_t d = 1; d <= 2 && d + 1 < len; d++) {
		const char *p = key + len - d;
		bool digits = true;

		for (size_t k = 0; k < d; k++)
			digits = digits && p[k] >= '0' && p[k] <= '9';
		if (!digits || p[0] == '0' || p[-1] != '_')
			continue;

		opt = opt_lookup(key, len - d - 1);
		if (!opt || !(opt->flags & CONF_F_NUMBERED))
			return NULL;

		n = (unsigned)strtoul(p, NULL, 10);
		goto out;
	}

	return NULL;

 out:
	if (file && !(opt->flags & CONF_F_SECRET))
		return NULL;
	if (np)
		*np = n;
	if (filep)
		*filep = file;
	return opt;
}


const struct conf_opt *conf_opt_find(const char *key)
{
	return key_resolve(key, NULL, NULL);
}


static struct conf_ent *ent_find(const struct conf *conf,
				 const struct conf_opt *opt, unsigned n)
{
	struct le *le;

	if (!conf)
		return NULL;

	LIST_FOREACH(&conf->ents, le) {
		struct conf_ent *ent = le->data;
		if (ent->opt == opt && ent->n == n)
			return ent;
	}
	return NULL;
}


/* The key as a user would write it, e.g. "sip_password_2". */
static const char *ent_key(char *buf, size_t sz, const struct conf_opt *opt,
			   unsigned n)
{
	if (n == 0)
		snprintf(buf, sz, "%s", opt->key);
	else
		snprintf(buf, sz, "%s_%u", opt->key, n);
	return buf;
}


static int conf_set_rank(struct conf *conf, const char *key,
			 const char *value, const char *source,
			 enum conf_rank rank, conf_err_h *errh, void *arg)
{
	const struct conf_opt *opt;
	struct conf_ent *ent;
	char *nvalue = NULL, *nsource = NULL;
	const char *problem;
	bool file;
	unsigned n;
	size_t vlen;
	int err;

	if (!conf || !key || !value)
		return EINVAL;
	if (!source)
		source = "--set";

	opt = key_resolve(key, &n, &file);
	if (!opt) {
		report(&conf->nload_errs, errh, arg,
		       "unknown key \"%.200s\" (%s)", key, source);
		return ENOENT;
	}

	vlen = strlen(value);
	if (vlen >= CONF_LINE_MAX) {
		report(&conf->nload_errs, errh, arg,
		       "%s: value too long (max %d bytes) (%s)", key,
		       CONF_LINE_MAX - 1, source);
		return EINVAL;
	}
	problem = text_problem(value, vlen);
	if (problem) {
		report(&conf->nload_errs, errh, arg,
		       "%s: %s in value (%s)", key, problem, source);
		return EINVAL;
	}
	if (file && vlen == 0) {
		report(&conf->nload_errs, errh, arg,
		       "%s: empty file name (%s)", key, source);
		return EINVAL;
	}

	ent = ent_find(conf, opt, n);
	if (ent && ent->rank > rank)
		return 0;  /* a higher-precedence source already set it */

	err  = str_dup(&nvalue, value);
	err |= str_dup(&nsource, source);
	if (err) {
		mem_deref(nvalue);
		mem_deref(nsource);
		return ENOMEM;
	}

	if (!ent) {
		ent = mem_zalloc(sizeof(*ent), ent_destructor);
		if (!ent) {
			mem_deref(nvalue);
			mem_deref(nsource);
			return ENOMEM;
		}
		ent->opt = opt;
		ent->n = n;
		list_append(&conf->ents, &ent->le, ent);
	}

	ent->value = mem_deref(ent->value);
	ent->path = mem_deref(ent->path);
	mem_deref(ent->source);
	if (file)
		ent->path = nvalue;
	else
		ent->value = nvalue;
	ent->source = nsource;
	ent->rank = rank;

	return 0;
}


int conf_set(struct conf *conf, const char *key, const char *value,
	     const char *source, conf_err_h *errh, void *arg)
{
	return conf_set_rank(conf, key, value, source, RANK_SET, errh, arg);
}


int conf_set_arg(struct conf *conf, const char *kv, conf_err_h *errh,
		 void *arg)
{
	char key[128];
	const char *eq;
	size_t klen;

	if (!conf || !kv)
		return EINVAL;

	while (is_space(*kv))
		++kv;
	eq = strchr(kv, '=');
	klen = eq ? (size_t)(eq - kv) : 0;
	while (klen && (kv[klen - 1] == ' ' || kv[klen - 1] == '\t'))
		--klen;
	if (!eq || klen == 0) {
		report(&conf->nload_errs, errh, arg,
		       "--set \"%.200s\": expected key=value", kv);
		return EINVAL;
	}
	if (klen >= sizeof(key)) {
		report(&conf->nload_errs, errh, arg,
		       "unknown key \"%.*s...\" (--set)", 60, kv);
		return ENOENT;
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';

	return conf_set_rank(conf, key, eq + 1, "--set", RANK_SET, errh,
			     arg);
}


static bool env_reserved(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_env_reserved); i++) {
		const char *r = conf_env_reserved[i];
		size_t rl = strlen(r);

		if (r[rl - 1] == '_' ? (len >= rl && !memcmp(name, r, rl))
				     : (len == rl && !memcmp(name, r, rl)))
			return true;
	}
	return false;
}


int conf_load_env(struct conf *conf, char *const envp[], conf_err_h *errh,
		  void *arg)
{
	const size_t plen = sizeof(CONF_ENV_PREFIX) - 1;
	int err = 0;

	if (!conf)
		return EINVAL;
	if (!envp)
		return 0;

	for (size_t i = 0; envp[i]; i++) {
		const char *var = envp[i], *eq;
		char key[128], source[160];
		size_t nlen;
		int e;

		if (strncmp(var, CONF_ENV_PREFIX, plen))
			continue;
		eq = strchr(var, '=');
		if (!eq)
			continue;
		nlen = (size_t)(eq - var);
		if (env_reserved(var, nlen))
			continue;

		snprintf(source, sizeof(source), "env %.*s",
			 (int)(nlen > 140 ? 140 : nlen), var);
		if (nlen - plen == 0 || nlen - plen >= sizeof(key)) {
			report(&conf->nload_errs, errh, arg,
			       "unknown key \"%.*s\" (%s)",
			       (int)(nlen - plen > 60 ? 60 : nlen - plen),
			       var + plen, source);
			err = ENOENT;
			continue;
		}
		for (size_t k = 0; k < nlen - plen; k++) {
			char c = var[plen + k];
			key[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		key[nlen - plen] = '\0';

		e = conf_set_rank(conf, key, eq + 1, source, RANK_ENV, errh,
				  arg);
		if (e)
			err = e;
	}

	return err;
}


/* Parse one line (no newline); returns 0 or an errno already reported. */
static int parse_line(struct conf *conf, const char *p, size_t len,
		      const char *source, unsigned lineno, conf_err_h *errh,
		      void *arg)
{
	char where[300], key[128], *value;
	const char *problem, *kp, *vp;
	size_t klen, vlen;
	int err;

	snprintf(where, sizeof(where), "%.280s:%u", source, lineno);

	problem = text_problem(p, len);
	if (problem) {
		report(&conf->nload_errs, errh, arg, "%s: %s in line", where,
		       problem);
		return EINVAL;
	}

	while (len && is_space(*p)) {
		++p;
		--len;
	}
	while (len && is_space(p[len - 1]))
		--len;
	if (len == 0 || *p == '#')
		return 0;

	kp = p;
	for (klen = 0; klen < len && !is_space(kp[klen]) && kp[klen] != '=';
	     klen++)
		;
	if (klen == 0) {
		report(&conf->nload_errs, errh, arg, "%s: empty key", where);
		return EINVAL;
	}

	vp = kp + klen;
	vlen = len - klen;
	while (vlen && is_space(*vp)) {
		++vp;
		--vlen;
	}
	if (vlen && *vp == '=') {
		++vp;
		--vlen;
		while (vlen && is_space(*vp)) {
			++vp;
			--vlen;
		}
	}
	else if (vp == kp + klen) {
		/* "key" alone, nothing after it */
		report(&conf->nload_errs, errh, arg,
		       "%s: missing '=' after \"%.*s\"", where,
		       (int)(klen > 60 ? 60 : klen), kp);
		return EINVAL;
	}

	if (klen >= sizeof(key)) {
		report(&conf->nload_errs, errh, arg,
		       "unknown key \"%.*s...\" (%s)", 60, kp, where);
		return ENOENT;
	}
	memcpy(key, kp, klen);
	key[klen] = '\0';

	/* "quoted value" keeps inner spaces and loses the quotes */
	if (vlen >= 2 && vp[0] == '"' && vp[vlen - 1] == '"') {
		++vp;
		vlen -= 2;
	}

	value = mem_alloc(vlen + 1, NULL);
	if (!value)
		return ENOMEM;
	memcpy(value, vp, vlen);
	value[vlen] = '\0';

	err = conf_set_rank(conf, key, value, where, RANK_FILE, errh, arg);
	mem_deref(value);
	return err;
}


int conf_parse_buf(struct conf *conf, const char *buf, size_t len,
		   const char *source, conf_err_h *errh, void *arg)
{
	unsigned lineno = 0;
	size_t pos = 0;
	int err = 0;

	if (!conf || (!buf && len))
		return EINVAL;
	if (!source)
		source = "config";

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		int e;

		pos += llen + (nl ? 1 : 0);
		++lineno;

		if (llen && line[llen - 1] == '\r')
			--llen;
		if (llen >= CONF_LINE_MAX) {
			report(&conf->nload_errs, errh, arg,
			       "%.280s:%u: line too long (max %d bytes)",
			       source, lineno, CONF_LINE_MAX - 1);
			err = EINVAL;
			continue;
		}

		e = parse_line(conf, line, llen, source, lineno, errh, arg);
		if (e == ENOMEM)
			return ENOMEM;
		if (e)
			err = e;
	}

	return err;
}


/*
 * Read a regular file of at most max bytes. Opened non-blocking so a
 * FIFO or device cannot hang us; those are rejected after fstat.
 */
static int file_read(const char *path, size_t max, char **bufp,
		     size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno;

	if (fstat(fd, &st)) {
		err = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		err = EFBIG;
		goto out;
	}

	buf = mem_alloc(max + 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == max)
			break;
	}
	buf[len] = '\0';

 out:
	close(fd);
	if (err) {
		mem_deref(buf);
		return err;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}


static const char *errstr(int err)
{
	if (err == EINVAL)
		return "not a regular file";
	if (err == EFBIG)
		return "file too large";
	return strerror(err);
}


int conf_load_file(struct conf *conf, const char *path, conf_err_h *errh,
		   void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!conf || !path)
		return EINVAL;

	err = file_read(path, CONF_FILE_MAX, &buf, &len);
	if (err) {
		report(&conf->nload_errs, errh, arg,
		       "cannot read config file \"%.280s\": %s", path,
		       errstr(err));
		return err;
	}

	err = conf_parse_buf(conf, buf, len, path, errh, arg);
	mem_deref(buf);
	return err;
}


/* --- validation ------------------------------------------------------ */


static int parse_int(const char *s, int64_t *vp)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return ERANGE;
	*vp = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}


static int parse_bool(const char *s, bool *vp)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (0 == str_casecmp(s, yes[i])) {
			*vp = true;
			return 0;
		}
		if (0 == str_casecmp(s, no[i])) {
			*vp = false;
			return 0;
		}
	}
	return EINVAL;
}


/* Find item in a "a|b|c" list, case-insensitively; returns its spelling. */
static bool choice_find(const char *choices, const char *item, size_t ilen,
			struct pl *hit)
{
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == ilen && 0 == strncasecmp(p, item, ilen)) {
			hit->p = p;
			hit->l = l;
			return true;
		}
		p = bar ? bar + 1 : NULL;
	}
	return false;
}


static int check_port(const char *s, size_t len, char *err, size_t errsz)
{
	uint32_t port = 0;

	if (len == 0 || len > 5) {
		snprintf(err, errsz, "port \"%.*s\" is not a number 1..65535",
			 (int)(len > 20 ? 20 : len), s);
		return EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			snprintf(err, errsz,
				 "port \"%.*s\" is not a number 1..65535",
				 (int)len, s);
			return EINVAL;
		}
		port = port * 10 + (uint32_t)(s[i] - '0');
	}
	if (port < 1 || port > 65535) {
		snprintf(err, errsz, "port %u is out of range 1..65535", port);
		return ERANGE;
	}
	return 0;
}


/* An IP address, IPv6 optionally in brackets when allow_brackets. */
static int check_ip(const char *s, size_t len, bool brackets, char *err,
		    size_t errsz)
{
	char addr[64];
	struct sa sa;

	if (brackets) {
		if (len < 2 || s[0] != '[' || s[len - 1] != ']')
			goto bad;
		++s;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (sa_set_str(&sa, addr, 0))
		goto bad;
	if ((sa_af(&sa) == AF_INET6) != (strchr(addr, ':') != NULL))
		goto bad;
	return 0;

 bad:
	snprintf(err, errsz, "\"%.*s\" is not an IP address",
		 (int)(len > 80 ? 80 : len), s);
	return EINVAL;
}


/* ADDR:PORT (IPv6 as [::1]:PORT); empty = off */
static int check_hostport(const char *v, char *err, size_t errsz)
{
	struct sa sa;

	if (!*v)
		return 0;
	if (sa_decode(&sa, v, strlen(v)) || !sa_port(&sa)) {
		snprintf(err, errsz, "\"%.100s\" is not ADDR:PORT (e.g. "
			 "127.0.0.1:8996 or [::1]:8996)", v);
		return EINVAL;
	}
	return 0;
}


static int check_http_url(const char *v, char *err, size_t errsz)
{
	const char *host;

	if (!*v)
		return 0;
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		snprintf(err, errsz, "\"%.100s\" is not an http:// or "
			 "https:// URL", v);
		return EINVAL;
	}
	host = strstr(v, "://") + 3;
	if (!*host || *host == '/' || strpbrk(v, " \"<>\\")) {
		snprintf(err, errsz, "\"%.100s\" has no host or a character "
			 "a URL cannot hold", v);
		return EINVAL;
	}
	return 0;
}


static int check_listen(const char *v, char *err, size_t errsz)
{
	const char *colon, *addr, *last;
	size_t alen, vlen = strlen(v);
	struct pl proto;

	colon = strchr(v, ':');
	last = strrchr(v, ':');
	if (!colon || colon == last ||
	    !choice_find("udp|tcp|tls", v, (size_t)(colon - v), &proto) ||
	    strncmp(proto.p, v, proto.l)) {
		snprintf(err, errsz,
			 "\"%.100s\" is not of the form udp|tcp|tls:ADDR:PORT",
			 v);
		return EINVAL;
	}

	addr = colon + 1;
	alen = (size_t)(last - addr);
	if (alen && addr[0] == '[') {
		if (check_ip(addr, alen, true, err, errsz))
			return EINVAL;
	}
	else if (memchr(addr, ':', alen)) {
		snprintf(err, errsz, "\"%.100s\": write IPv6 addresses in "
			 "brackets, e.g. udp:[::1]:5060", v);
		return EINVAL;
	}
	else if (check_ip(addr, alen, false, err, errsz)) {
		return EINVAL;
	}

	return check_port(last + 1, vlen - (size_t)(last + 1 - v), err,
			  errsz);
}


/* sip_ws_path: an absolute HTTP path, no spaces or control bytes */
static int check_ws_path(const char *v, char *err, size_t errsz)
{
	if (v[0] != '/') {
		snprintf(err, errsz, "\"%.100s\" must start with /", v);
		return EINVAL;
	}
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errsz, "must not contain spaces or "
				 "control characters");
			return EINVAL;
		}
	}
	return 0;
}


/* ice_stun_urls / ice_turn_urls items (RFC 7064/7065):
 * stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp] */
static int check_ice_url(const char *v, char *err, size_t errsz)
{
	const char *host, *q;
	bool turn = !strncmp(v, "turn:", 5);

	if (!strncmp(v, "stun:", 5) || turn)
		host = v + 5;
	else
		goto bad;
	q = strchr(host, '?');
	if (q && (!turn || (strcmp(q, "?transport=udp") &&
			    strcmp(q, "?transport=tcp"))))
		goto bad;
	if (!*host || *host == '?' || *host == ':')
		goto bad;
	for (const char *p = host; *p && p != q; p++) {
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == '@')
			goto bad;
	}
	return 0;

 bad:
	snprintf(err, errsz, "\"%.100s\" is not stun:HOST[:PORT] or "
		 "turn:HOST[:PORT][?transport=udp|tcp]", v);
	return EINVAL;
}


static int check_cidr(const char *v, char *err, size_t errsz)
{
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	bool v6 = memchr(v, ':', alen) != NULL;
	bool br = alen && v[0] == '[';
	unsigned bits = 0, maxbits = v6 ? 128 : 32;
	const char *p;

	if (check_ip(v, alen, br, err, errsz)) {
		snprintf(err, errsz, "\"%.100s\" is not a CIDR network "
			 "(ADDR/BITS)", v);
		return EINVAL;
	}
	if (!slash)
		return 0;  /* a single address */

	p = slash + 1;
	if (!*p || strlen(p) > 3)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		bits = bits * 10 + (unsigned)(*p - '0');
	}
	if (bits > maxbits)
		goto bad;
	return 0;

 bad:
	snprintf(err, errsz, "\"%.100s\": prefix length must be 0..%u", v,
		 maxbits);
	return EINVAL;
}


static int check_host(const char *v, char *err, size_t errsz)
{
	if (!*v) {
		snprintf(err, errsz, "must not be empty");
		return EINVAL;
	}
	for (const char *p = v; *p; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':' || c == '[' || c == ']' || c == '_')
			continue;
		snprintf(err, errsz, "\"%.100s\" is not a host name or IP "
			 "address", v);
		return EINVAL;
	}
	return 0;
}


static int check_user(const char *v, char *err, size_t errsz)
{
	if (!*v) {
		snprintf(err, errsz, "must not be empty");
		return EINVAL;
	}
	if (strpbrk(v, " \t\"<>")) {
		snprintf(err, errsz, "must not contain spaces, quotes or "
			 "angle brackets");
		return EINVAL;
	}
	return 0;
}


static int check_display_name(const char *v, char *err, size_t errsz)
{
	if (strlen(v) > 128) {
		snprintf(err, errsz, "longer than 128 bytes");
		return EINVAL;
	}
	if (strpbrk(v, "\"\\")) {
		snprintf(err, errsz, "must not contain '\"' or '\\'");
		return EINVAL;
	}
	return 0;
}


static int check_nonempty(const char *v, char *err, size_t errsz)
{
	if (!*v) {
		snprintf(err, errsz, "must not be empty");
		return EINVAL;
	}
	if (strlen(v) > 128) {
		snprintf(err, errsz, "longer than 128 bytes");
		return EINVAL;
	}
	return 0;
}


static int check_dir(const char *v, char *err, size_t errsz)
{
	struct stat st;

	if (!*v || stat(v, &st)) {
		snprintf(err, errsz, "directory \"%.200s\" does not exist", v);
		return ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "\"%.200s\" is not a directory", v);
		return ENOTDIR;
	}
	if (access(v, W_OK | X_OK)) {
		snprintf(err, errsz, "directory \"%.200s\" is not writable",
			 v);
		return EACCES;
	}
	return 0;
}


static int check_readable(const char *v, char *err, size_t errsz)
{
	struct stat st;

	if (!*v || stat(v, &st)) {
		snprintf(err, errsz, "file \"%.200s\" does not exist", v);
		return ENOENT;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "\"%.200s\" is not a regular file", v);
		return EINVAL;
	}
	if (access(v, R_OK)) {
		snprintf(err, errsz, "file \"%.200s\" is not readable", v);
		return EACCES;
	}
	return 0;
}


static int check_temperature(const char *v, char *err, size_t errsz)
{
	char *end;
	double t = strtod(v, &end);

	if (end == v || *end || !(t >= 0 && t <= 2)) {
		snprintf(err, errsz, "must be a number from 0 to 2");
		return EINVAL;
	}
	return 0;
}


static int check_brain(const char *v, char *err, size_t errsz)
{
	if (!brain_find(v)) {
		snprintf(err, errsz, "unknown brain \"%.100s\" (have %s)", v,
			 brain_names());
		return EINVAL;
	}
	if (!strncmp(v, "script:", 7) && !v[7]) {
		snprintf(err, errsz, "script: needs a file (script:FILE)");
		return EINVAL;
	}
	return 0;
}


static int check_playbook(const char *v, char *err, size_t errsz)
{
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
			snprintf(err, errsz, "\"%.100s\" is not a playbook "
				 "name (letters, digits, _ and -)", v);
			return EINVAL;
		}
	}
	return 0;
}


static int check_app(const char *v, char *err, size_t errsz)
{
	int64_t hz;

	if (0 == strcmp(v, "echo") || 0 == strcmp(v, "agent"))
		return 0;
	if (0 == strncmp(v, "playback:", 9))
		return check_readable(v + 9, err, errsz);
	if (0 == strncmp(v, "tone:", 5)) {
		if (parse_int(v + 5, &hz) || hz < 20 || hz > 8000) {
			snprintf(err, errsz, "tone frequency \"%.20s\" is not "
				 "an integer 20..8000", v + 5);
			return EINVAL;
		}
		return 0;
	}
	snprintf(err, errsz, "\"%.100s\" is not one of agent|echo|playback:FILE|"
		 "tone:HZ", v);
	return EINVAL;
}


static int check_events_file(const char *v, char *err, size_t errsz)
{
	const char *slash = strrchr(v, '/');
	char dir[512];
	struct stat st;

	if (!*v) {
		snprintf(err, errsz, "must not be empty");
		return EINVAL;
	}
	if (!slash)
		return 0;  /* current directory */
	if (slash == v || (size_t)(slash - v) >= sizeof(dir))
		return 0;
	memcpy(dir, v, (size_t)(slash - v));
	dir[slash - v] = '\0';
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "directory \"%.200s\" does not exist",
			 dir);
		return ENOENT;
	}
	return 0;
}


/* Replace ent->value with text (takes a copy). */
static int ent_revalue(struct conf_ent *ent, const char *p, size_t len)
{
	char *v = mem_alloc(len + 1, NULL);

	if (!v)
		return ENOMEM;
	memcpy(v, p, len);
	v[len] = '\0';
	mem_deref(ent->value);
	ent->value = v;
	return 0;
}


static unsigned validate_secret_file(struct conf_ent *ent, const char *key,
				     conf_err_h *errh, void *arg)
{
	unsigned n = 0;
	const char *problem;
	char *buf = NULL;
	size_t len = 0;
	int err;

	ent->value = mem_deref(ent->value);

	err = file_read(ent->path, CONF_LINE_MAX, &buf, &len);
	if (err) {
		report(&n, errh, arg, "%s_file: cannot read \"%.280s\": %s "
		       "(%s)", key, ent->path, errstr(err), ent->source);
		return n;
	}

	/* first line only */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			len = i;
			break;
		}
	}
	if (len && buf[len - 1] == '\r')
		--len;

	problem = text_problem(buf, len);
	if (len == 0)
		problem = "empty first line";
	else if (len == CONF_LINE_MAX)
		problem = "line too long";
	if (problem) {
		report(&n, errh, arg, "%s_file: \"%.280s\": %s (%s)", key,
		       ent->path, problem, ent->source);
	}
	else if (ent_revalue(ent, buf, len)) {
		report(&n, errh, arg, "%s_file: out of memory", key);
	}

	mem_deref(buf);
	return n;
}


static unsigned validate_list(struct conf_ent *ent, const char *key,
			      conf_err_h *errh, void *arg)
{
	const struct conf_opt *opt = ent->opt;
	char norm[CONF_LINE_MAX], item[CONF_LINE_MAX], errbuf[512];
	const char *p = ent->value;
	size_t nlen = 0, count = 0;
	unsigned nerr = 0;

	norm[0] = '\0';

	while (*p && is_space(*p))
		++p;

	/* an empty (or all blank) value is a list of no items */
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t ilen = comma ? (size_t)(comma - p) : strlen(p);
		const char *ip = p;
		struct pl hit;

		p = comma ? comma + 1 : p + ilen;
		++count;
		while (ilen && is_space(*ip)) {
			++ip;
			--ilen;
		}
		while (ilen && is_space(ip[ilen - 1]))
			--ilen;

		if (ilen == 0) {
			report(&nerr, errh, arg, "%s: empty item in list "
			       "\"%.200s\" (%s)", key, ent->value,
			       ent->source);
			goto next;
		}

		if (opt->choices) {
			if (!choice_find(opt->choices, ip, ilen, &hit)) {
				report(&nerr, errh, arg, "%s: \"%.*s\" is not "
				       "one of %s (%s)", key,
				       (int)(ilen > 100 ? 100 : ilen), ip,
				       opt->choices, ent->source);
				goto next;
			}
			ip = hit.p;
			ilen = hit.l;
		}

		memcpy(item, ip, ilen);
		item[ilen] = '\0';

		if (opt->checkh && opt->checkh(item, errbuf, sizeof(errbuf))) {
			report(&nerr, errh, arg, "%s: %s (%s)", key, errbuf,
			       ent->source);
			goto next;
		}

		/* duplicate? compare with the items kept so far */
		for (const char *q = norm; *q; ) {
			const char *c = strchr(q, ',');
			size_t ql = c ? (size_t)(c - q) : strlen(q);

			if (ql == ilen && 0 == strncasecmp(q, item, ilen)) {
				report(&nerr, errh, arg, "%s: \"%s\" is "
				       "listed twice (%s)", key, item,
				       ent->source);
				goto next;
			}
			q = c ? c + 1 : q + ql;
		}

		if (nlen)
			norm[nlen++] = ',';
		memcpy(norm + nlen, item, ilen);
		nlen += ilen;
		norm[nlen] = '\0';
	next:
		if (comma && !*p && ilen) {
			report(&nerr, errh, arg, "%s: empty item in list "
			       "\"%.200s\" (%s)", key, ent->value,
			       ent->source);
		}
	}

	if (nerr)
		return nerr;

	if ((int64_t)count < opt->min) {
		report(&nerr, errh, arg, "%s: needs at least %lld item%s (%s)",
		       key, (long long)opt->min, opt->min == 1 ? "" : "s",
		       ent->source);
	}
	else if ((int64_t)count > opt->max) {
		report(&nerr, errh, arg, "%s: at most %lld items allowed "
		       "(%s)", key, (long long)opt->max, ent->source);
	}
	else if (ent_revalue(ent, norm, nlen)) {
		report(&nerr, errh, arg, "%s: out of memory", key);
	}

	return nerr;
}


static unsigned validate_ent(struct conf_ent *ent, conf_err_h *errh,
			     void *arg)
{
	const struct conf_opt *opt = ent->opt;
	char key[160], errbuf[512];
	unsigned nerr = 0;
	struct pl hit;
	int64_t iv;
	bool bv;
	int err;

	ent_key(key, sizeof(key), opt, ent->n);

	if (ent->path) {
		nerr = validate_secret_file(ent, key, errh, arg);
		if (nerr)
			return nerr;
	}
	if (!ent->value)
		return 0;

	switch (opt->type) {

	case CONF_INT:
		err = parse_int(ent->value, &iv);
		if (err == EINVAL) {
			report(&nerr, errh, arg, "%s: \"%.100s\" is not an "
			       "integer (%s)", key, ent->value, ent->source);
		}
		else if (err || iv < opt->min || iv > opt->max) {
			report(&nerr, errh, arg, "%s: %.40s is out of range "
			       "%lld..%lld (%s)", key, ent->value,
			       (long long)opt->min, (long long)opt->max,
			       ent->source);
		}
		break;

	case CONF_BOOL:
		if (parse_bool(ent->value, &bv)) {
			report(&nerr, errh, arg, "%s: \"%.100s\" is not a "
			       "boolean (true|false|yes|no|on|off|1|0) (%s)",
			       key, ent->value, ent->source);
		}
		break;

	case CONF_ENUM:
		if (!choice_find(opt->choices, ent->value,
				 strlen(ent->value), &hit)) {
			report(&nerr, errh, arg, "%s: \"%.100s\" is not one of "
			       "%s (%s)", key, ent->value, opt->choices,
			       ent->source);
		}
		else if (ent_revalue(ent, hit.p, hit.l)) {
			report(&nerr, errh, arg, "%s: out of memory", key);
		}
		break;

	case CONF_LIST:
		return validate_list(ent, key, errh, arg);

	case CONF_PATH:
		if (check_readable(ent->value, errbuf, sizeof(errbuf))) {
			report(&nerr, errh, arg, "%s: %s (%s)", key, errbuf,
			       ent->source);
		}
		break;

	case CONF_STR:
	default:
		break;
	}

	if (!nerr && opt->checkh && opt->type != CONF_LIST &&
	    opt->checkh(ent->value, errbuf, sizeof(errbuf))) {
		report(&nerr, errh, arg, "%s: %s (%s)", key, errbuf,
		       ent->source);
	}

	return nerr;
}


static bool ent_value_int(const struct conf *conf, const char *key,
			  int64_t *vp)
{
	const char *s = conf_str(conf, key);

	return s && 0 == parse_int(s, vp);
}


static unsigned validate_cross(struct conf *conf, conf_err_h *errh,
			       void *arg)
{
	const struct conf_opt *anchor = opt_lookup(conf_anchor,
						   strlen(conf_anchor));
	unsigned nerr = 0;
	int64_t lo, hi;
	struct le *le;

	if (ent_value_int(conf, "rtp_port_min", &lo) &&
	    ent_value_int(conf, "rtp_port_max", &hi) && lo >= hi) {
		report(&nerr, errh, arg, "rtp_port_min (%lld) must be below "
		       "rtp_port_max (%lld) so the range holds at least 2 "
		       "ports", (long long)lo, (long long)hi);
	}

	if (ent_value_int(conf, "jitter_min_ms", &lo) &&
	    ent_value_int(conf, "jitter_max_ms", &hi) && lo > hi) {
		report(&nerr, errh, arg, "jitter_min_ms (%lld) must not be "
		       "above jitter_max_ms (%lld)", (long long)lo,
		       (long long)hi);
	}

	if (conf_isset(conf, "sip_tls_cert") !=
	    conf_isset(conf, "sip_tls_key")) {
		report(&nerr, errh, arg, "sip_tls_cert and sip_tls_key must "
		       "be set together");
	}

	if (conf_isset(conf, "sip_host") && !conf_isset(conf, conf_anchor)) {
		report(&nerr, errh, arg, "sip_host is set but %s is not",
		       conf_anchor);
	}

	/* every numbered account needs its extension */
	LIST_FOREACH(&conf->ents, le) {
		const struct conf_ent *ent = le->data;
		char k[160], a[160];

		/* other numbered keys (entry_name_<n> ...) are lists of
		 * their own, not accounts */
		if (!(ent->opt->flags & CONF_F_NUMBERED) ||
		    strncmp(ent->opt->key, "sip_", 4) ||
		    ent->opt == anchor || ent_find(conf, anchor, ent->n))
			continue;

		report(&nerr, errh, arg, "%s is set but %s is not",
		       ent_key(k, sizeof(k), ent->opt, ent->n),
		       ent_key(a, sizeof(a), anchor, ent->n));
	}

	/* open_entry: each entry has a name and exactly one way to open */
	{
		const struct conf_opt *en = opt_lookup("entry_name", 10);
		const struct conf_opt *ed = opt_lookup("entry_dtmf", 10);
		const struct conf_opt *eu = opt_lookup("entry_url", 9);

		for (unsigned n = 0; en && ed && eu && n <= CONF_NUM_MAX;
		     n++) {
			bool nm = ent_find(conf, en, n) != NULL;
			bool d = ent_find(conf, ed, n) != NULL;
			bool u = ent_find(conf, eu, n) != NULL;
			char k[160];

			if ((!nm && !d && !u) || (nm && d != u))
				continue;
			report(&nerr, errh, arg, "%s: an entry needs "
			       "entry_name and exactly one of entry_dtmf and "
			       "entry_url (same number)",
			       ent_key(k, sizeof(k), nm ? en : d ? ed : eu,
				       n));
		}
	}

	return nerr;
}


unsigned conf_validate(struct conf *conf, conf_err_h *errh, void *arg)
{
	unsigned nerr = 0;
	struct le *le;

	if (!conf) {
		report(NULL, errh, arg, "no configuration");
		return 1;
	}

	LIST_FOREACH(&conf->ents, le)
		nerr += validate_ent(le->data, errh, arg);

	if (!nerr)
		nerr += validate_cross(conf, errh, arg);

	return nerr + conf->nload_errs;
}


/* --- accessors ------------------------------------------------------- */


const char *conf_str(const struct conf *conf, const char *key)
{
	const struct conf_opt *opt;
	const struct conf_ent *ent;
	unsigned n;
	bool file;

	opt = key_resolve(key, &n, &file);
	if (!opt || file)
		return NULL;

	ent = ent_find(conf, opt, n);
	if (ent)
		return ent->value;  /* NULL while a _file is unresolved */

	for (size_t i = 0; i < ARRAY_SIZE(conf_def_from); i++) {
		char k[160];

		if (strcmp(opt->key, conf_def_from[i].key))
			continue;
		opt = opt_lookup(conf_def_from[i].from,
				 strlen(conf_def_from[i].from));
		return conf_str(conf, ent_key(k, sizeof(k), opt, n));
	}

	return opt->def;
}


int64_t conf_int(const struct conf *conf, const char *key)
{
	const struct conf_opt *opt = conf_opt_find(key);
	const char *s = conf_str(conf, key);
	int64_t v;

	if (s && 0 == parse_int(s, &v))
		return v;
	if (opt && opt->def && 0 == parse_int(opt->def, &v))
		return v;
	return 0;
}


bool conf_bool(const struct conf *conf, const char *key)
{
	const struct conf_opt *opt = conf_opt_find(key);
	const char *s = conf_str(conf, key);
	bool v;

	if (s && 0 == parse_bool(s, &v))
		return v;
	if (opt && opt->def && 0 == parse_bool(opt->def, &v))
		return v;
	return false;
}


bool conf_isset(const struct conf *conf, const char *key)
{
	const struct conf_opt *opt;
	unsigned n;
	bool file;

	opt = key_resolve(key, &n, &file);
	if (!opt)
		return false;

	return ent_find(conf, opt, n) != NULL;
}


size_t conf_numbered(const struct conf *conf, const char *key,
		     unsigned *nv, size_t max)
{
	const struct conf_opt *opt = conf_opt_find(key);
	size_t cnt = 0;

	if (!conf || !opt)
		return 0;

	for (unsigned n = 1; n <= CONF_NUM_MAX && cnt < max; n++) {
		if (!ent_find(conf, opt, n))
			continue;
		if (nv)
			nv[cnt] = n;
		++cnt;
	}

	return cnt;
}


void conf_register_secrets(const struct conf *conf)
{
	struct le *le;

	if (!conf)
		return;

	LIST_FOREACH(&conf->ents, le) {
		const struct conf_ent *ent = le->data;

		if ((ent->opt->flags & CONF_F_SECRET) && ent->value)
			log_secret_add(ent->value);
	}
}


/* --- printing -------------------------------------------------------- */


static const char *type_name(const struct conf_opt *opt, char *buf,
			     size_t sz)
{
	switch (opt->type) {

	case CONF_INT:
		snprintf(buf, sz, "int %lld..%lld", (long long)opt->min,
			 (long long)opt->max);
		break;
	case CONF_BOOL:
		snprintf(buf, sz, "bool");
		break;
	case CONF_ENUM:
		snprintf(buf, sz, "%s", opt->choices);
		break;
	case CONF_LIST:
		snprintf(buf, sz, "list%s%s, %lld..%lld items",
			 opt->choices ? " of " : "",
			 opt->choices ? opt->choices : "",
			 (long long)opt->min, (long long)opt->max);
		break;
	case CONF_PATH:
		snprintf(buf, sz, "file");
		break;
	case CONF_STR:
	default:
		snprintf(buf, sz, "%s",
			 (opt->flags & CONF_F_SECRET) ? "secret" : "string");
		break;
	}
	return buf;
}


int conf_print_help(struct re_printf *pf)
{
	int err = 0;

	err |= re_hprintf(pf, "Options (config file `key = value`, env "
			  "AGENTLINE_<KEY>, --set key=value):\n");

	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		char type[160], line[400];

		snprintf(line, sizeof(line), "  %-22s <%s>", o->key,
			 type_name(o, type, sizeof(type)));
		err |= re_hprintf(pf, "%s", line);
		if (o->def)
			err |= re_hprintf(pf, "  default: %s", o->def);
		else
			err |= re_hprintf(pf, "  default: unset");
		err |= re_hprintf(pf, "\n      %s", o->help ? o->help : "");
		if (o->flags & CONF_F_SECRET)
			err |= re_hprintf(pf, "\n      [secret: never logged; "
					  "or %s_file = FILE]", o->key);
		if (o->flags & CONF_F_NUMBERED)
			err |= re_hprintf(pf, "\n      [numbered: also %s_1.."
					  "%s_%d]", o->key, o->key,
					  CONF_NUM_MAX);
		err |= re_hprintf(pf, "\n");
	}

	return err;
}


/* A default that names a build-time directory is printed with the
 * directory replaced by a placeholder, so the example does not depend on
 * where the tree was built. */
static const char *example_def(const char *def, const char **dirp)
{
	static const struct {
		const char *dir, *name;
	} dirs[] = {
		{AGENTLINE_DEPSDIR, "<depsdir>"},
		{AGENTLINE_DATADIR, "<datadir>"},
	};

	*dirp = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i].dir);

		if (!strncmp(def, dirs[i].dir, n) && def[n] == '/') {
			*dirp = dirs[i].name;
			return def + n;
		}
	}
	return def;
}


int conf_print_example(struct re_printf *pf)
{
	int err = 0;

	err |= re_hprintf(pf,
		"# agentline.conf example: every key, commented out, with "
		"its default.\n"
		"# Generated by `agentline config-example`; do not edit the "
		"copy in\n"
		"# packaging/ by hand (a test compares it with the binary).\n"
		"# Format: key = value. Secrets may be given as "
		"<key>_file = PATH.\n"
		"# <depsdir> is the deps/ directory of the source tree the "
		"binary was\n"
		"# built from (see docs/install.md).\n");

	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		char type[160];
		const char *dir = NULL, *def = "";

		err |= re_hprintf(pf, "\n# %s\n# (%s%s%s)\n",
				  o->help ? o->help : "",
				  type_name(o, type, sizeof(type)),
				  (o->flags & CONF_F_NUMBERED) ?
				  "; numbered: also " : "",
				  (o->flags & CONF_F_NUMBERED) ?
				  "key_1..key_99" : "");
		if (o->def && !(o->flags & CONF_F_SECRET))
			def = example_def(o->def, &dir);
		err |= re_hprintf(pf, "#%s =%s%s%s\n", o->key,
				  (dir || *def) ? " " : "",
				  dir ? dir : "", def);
	}

	return err;
}


int conf_print(struct re_printf *pf, const struct conf *conf)
{
	int err = 0;

	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		for (unsigned n = 0; n <= CONF_NUM_MAX; n++) {
			const struct conf_ent *ent = ent_find(conf, o, n);
			char key[160];
			const char *v;

			if (n > 0 && !ent)
				continue;

			ent_key(key, sizeof(key), o, n);
			v = conf_str(conf, key);
			if (!v)
				err |= re_hprintf(pf, "# %s (unset)\n", key);
			else if (o->flags & CONF_F_SECRET)
				err |= re_hprintf(pf, "%s = ***\n", key);
			else
				err |= re_hprintf(pf, "%s = %s\n", key, v);

			if (!(o->flags & CONF_F_NUMBERED))
				break;
		}
	}

	return err;
}


static int check_stt(const char *v, char *err, size_t errsz)
{
	if (stt_find(v))
		return 0;
	snprintf(err, errsz, "\"%.100s\" is not one of %s", v,
		 engine_names(ENGINE_STT));
	return EINVAL;
}


static int check_tts(const char *v, char *err, size_t errsz)
{
	if (tts_find(v))
		return 0;
	snprintf(err, errsz, "\"%.100s\" is not one of %s", v,
		 engine_names(ENGINE_TTS));
	return EINVAL;
}


/* --- trust (src/policy) --- */

static int check_caller_groups(const char *v, char *err, size_t errsz)
{
	struct policy_groups *g = NULL;
	char msg[400];
	int e;

	if (!*v)
		return 0;
	e = policy_groups_load(&g, v, msg, sizeof(msg));
	mem_deref(g);
	if (e)
		snprintf(err, errsz, "%s", msg);
	return e;
}


static int check_dtmf_digit(const char *v, char *err, size_t errsz)
{
	if (!*v || (strlen(v) == 1 && strchr("0123456789*#", v[0])))
		return 0;
	snprintf(err, errsz, "one key 0-9, * or #, or empty");
	return EINVAL;
}


static int check_pin(const char *v, char *err, size_t errsz)
{
	size_t n = strlen(v);

	if (!n)
		return 0;
	if (n < 4 || n > 16 || strspn(v, "0123456789") != n) {
		/* never echo the value: it is a secret */
		snprintf(err, errsz, "4 to 16 digits");
		return EINVAL;
	}
	return 0;
}
