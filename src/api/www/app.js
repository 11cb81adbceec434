/*
 * agentline control centre.  Plain JavaScript, no framework, no build
 * step.  Everything it shows comes from the control API (docs/api.md)
 * with the session cookie from POST /api/login.
 *
 * Text from calls (transcripts, names, messages) is controlled by callers:
 * it only ever reaches the page as text nodes (el() below), never as HTML.
 */
'use strict';

/* ------------------------------------------------------------ helpers */

const $ = (sel, root) => (root || document).querySelector(sel);

/* el('div', {class: 'x', onclick: fn}, 'text', child...) — children are
 * nodes or strings (made text nodes); attributes never take HTML. */
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else if (k === 'class')
			e.className = v;
		else if (k === 'dataset')
			Object.assign(e.dataset, v);
		else if (v === true)
			e.setAttribute(k, '');
		else
			e.setAttribute(k, String(v));
	}
	for (const c of kids.flat()) {
		if (c === null || c === undefined || c === false)
			continue;
		e.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return e;
}

function clear(node) {
	while (node.firstChild)
		node.removeChild(node.firstChild);
	return node;
}

function fmtTime(ts) {
	if (!ts)
		return '–';
	const d = new Date(ts * 1000);
	const today = new Date();
	const opt = {hour: '2-digit', minute: '2-digit', second: '2-digit'};
	if (d.toDateString() !== today.toDateString()) {
		opt.day = 'numeric';
		opt.month = 'short';
		if (d.getFullYear() !== today.getFullYear())
			opt.year = 'numeric';
	}
	return d.toLocaleString(undefined, opt);
}

function fmtDur(ms) {
	if (ms === null || ms === undefined || ms < 0)
		return '–';
	const s = Math.round(ms / 1000);
	const m = Math.floor(s / 60);
	const h = Math.floor(m / 60);
	const two = (n) => String(n).padStart(2, '0');
	return h ? `${h}:${two(m % 60)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

function fmtMs(v) {
	return (v === null || v === undefined || v < 0) ? '–' : `${v} ms`;
}

function toast(msg, bad) {
	const t = $('#toast');
	t.textContent = msg;
	t.className = 'toast show' + (bad ? ' bad' : '');
	clearTimeout(toast.timer);
	toast.timer = setTimeout(() => { t.className = 'toast'; }, 3500);
}

/* A button that needs a second click within 4 s (hang up, delete). */
function armedButton(label, armedLabel, action, cls) {
	const b = el('button', {type: 'button', class: cls || 'danger'}, label);
	let timer = null;
	b.addEventListener('click', () => {
		if (!b.classList.contains('armed')) {
			b.classList.add('armed');
			b.textContent = armedLabel;
			timer = setTimeout(() => {
				b.classList.remove('armed');
				b.textContent = label;
			}, 4000);
			return;
		}
		clearTimeout(timer);
		b.classList.remove('armed');
		b.textContent = label;
		action(b);
	});
	return b;
}

/* ---------------------------------------------------------------- API */

class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code || `HTTP ${status}`);
		this.status = status;
		this.code = code;
	}
}

async function api(method, path, body) {
	const opt = {method, credentials: 'same-origin', headers: {}};
	if (body !== undefined) {
		opt.headers['Content-Type'] = 'application/json';
		opt.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(path, opt);
	} catch (e) {
		throw new ApiError(0, 'network', 'agentline is not answering');
	}
	let data = null;
	const text = await res.text();
	if (text) {
		try { data = JSON.parse(text); } catch (e) { data = null; }
	}
	if (res.status === 401 && path !== '/api/login') {
		showSignin();
		throw new ApiError(401, 'unauthorized', 'signed out');
	}
	if (!res.ok) {
		const err = data && data.error ? data.error : {};
		throw new ApiError(res.status, err.code, err.message);
	}
	return data;
}

/* ------------------------------------------------------------ sign-in */

function showSignin(msg) {
	stopSockets();
	$('#app').hidden = true;
	$('#signin').hidden = false;
	$('#signin-error').textContent = msg || '';
	$('#token').focus();
}

async function signIn(ev) {
	ev.preventDefault();
	const input = $('#token');
	const btn = $('#signin-form button');
	btn.disabled = true;
	$('#signin-error').textContent = '';
	try {
		await api('POST', '/api/login', {token: input.value.trim()});
		input.value = '';
		await start();
	} catch (e) {
		$('#signin-error').textContent = e.status === 401 ?
			'That token is not right.' : e.message;
	} finally {
		btn.disabled = false;
	}
}

async function signOut() {
	try { await api('POST', '/api/logout'); } catch (e) { /* gone */ }
	showSignin('Signed out.');
}

/* -------------------------------------------------------- live events */

const live = new Map();          /* call id -> LiveCall */
let eventsWs = null;
let eventsRetry = 0;
let eventsTimer = null;
let running = false;

function wsUrl(path) {
	return (location.protocol === 'https:' ? 'wss://' : 'ws://') +
		location.host + path;
}

function setConn(state, text) {
	const c = $('#conn');
	c.className = 'conn ' + state;
	c.title = 'Live events: ' + text;
	$('.conn-text', c).textContent = text;
}

function connectEvents() {
	clearTimeout(eventsTimer);
	if (!running)
		return;
	const ws = new WebSocket(wsUrl('/api/events'));
	eventsWs = ws;
	setConn('', 'connecting');
	ws.onopen = () => {
		eventsRetry = 0;
		setConn('up', 'live');
		loadLive();     /* catch up on what happened while away */
		agent.connect();   /* back after a restart: offer takeover again */
	};
	ws.onmessage = (m) => {
		let ev;
		try { ev = JSON.parse(m.data); } catch (e) { return; }
		onEvent(ev);
	};
	ws.onclose = () => {
		if (eventsWs !== ws)
			return;
		eventsWs = null;
		if (!running)
			return;
		setConn('down', 'reconnecting');
		const delay = Math.min(10000, 500 * 2 ** eventsRetry++);
		eventsTimer = setTimeout(async () => {
			/* a 401 here means the session ended: back to sign-in */
			try { await api('GET', '/api/registrations'); } catch (e) {
				if (e.status === 401)
					return;
			}
			connectEvents();
		}, delay);
	};
}

function stopSockets() {
	running = false;
	clearTimeout(eventsTimer);
	if (eventsWs) {
		const ws = eventsWs;
		eventsWs = null;
		ws.close();
	}
	agent.close();
	phone.close();
}

const endedIds = new Set();      /* calls that ended while we watched */

function onEvent(ev) {
	const name = ev.event;
	const id = ev.call;
	if (name === 'registered' || name === 'registration_failed') {
		if (currentView === 'registrations')
			loadRegistrations();
		return;
	}
	if (name === 'message_taken') {
		/* (may come twice per message: count from the inbox) */
		clearTimeout(onEvent.msgTimer);
		onEvent.msgTimer = setTimeout(currentView === 'messages' ?
			loadMessages : countMessages, 300);
	}
	if (!id)
		return;
	if (name === 'call_rejected') {
		const lc = live.get(id);
		if (lc)
			lc.end('rejected', ev);
		return;
	}
	let lc = live.get(id);
	if (!lc) {
		/* late events of a call already ended here make no new card */
		if (name === 'call_ended' || endedIds.has(id))
			return;
		lc = new LiveCall({id, state: 'ringing', started: ev.ts,
			direction: name === 'call_outgoing' ? 'outbound' :
				ev.direction || 'inbound'});
		live.set(id, lc);
		lc.backfill();
	}
	lc.event(ev);
	updateCounts();
}

/* ---------------------------------------------------------- live call */

class LiveCall {
	constructor(info) {
		this.id = info.id;
		this.info = Object.assign({}, info);
		this.turns = new Set();       /* turn numbers shown */
		this.ended = false;
		this.partial = null;
		this.pending = null;          /* takeover: open turn.request */
		this.provisional = [];        /* takeover lines until the turn */
		this.pinned = true;           /* transcript follows the end */
		this.build();
		this.update();
		$('#live-calls').prepend(this.card);
		this.tick = setInterval(() => this.updateTimer(), 1000);
	}

	build() {
		const id = this.id;
		this.who = el('div', {class: 'call-who'});
		this.meta = el('div', {class: 'call-meta'});
		this.timer = el('span', {class: 'timer'});
		this.transcript = el('div', {class: 'transcript',
			'aria-live': 'polite', 'aria-label': 'Transcript'});
		/* stay at the end unless the reader scrolled back; keep it there
		 * when the card changes size (phone rotation, window resize) */
		this.transcript.addEventListener('scroll', () => {
			const t = this.transcript;
			this.pinned = t.scrollHeight - t.scrollTop - t.clientHeight < 24;
		});
		if (window.ResizeObserver)
			new ResizeObserver(() => {
				if (this.pinned)
					this.scroll(true);
			}).observe(this.transcript);
		this.sayInput = el('input', {name: 'text', maxlength: 4000,
			placeholder: 'Say to the caller…', autocomplete: 'off',
			'aria-label': 'Text to say'});
		this.dtmfInput = el('input', {name: 'digits', maxlength: 64,
			placeholder: 'DTMF digits, e.g. 123#', autocomplete: 'off',
			pattern: '[0-9*#A-Da-d]+', inputmode: 'tel',
			'aria-label': 'Digits to send'});
		this.hangBtn = armedButton('Hang up', 'Confirm hang up',
			(b) => this.hangup(b));
		this.takeBtn = el('button', {type: 'button', class: 'takeover',
			onclick: () => this.toggleTakeover()}, 'Take over');
		this.takeBtn.hidden = !agent.available;
		this.takeBox = el('div', {class: 'takeover-box', hidden: true});
		/* softphone: hear the call, then talk on it yourself */
		this.listenBtn = el('button', {type: 'button', class: 'listen',
			onclick: () => this.toggleListen()}, 'Listen in');
		this.talkBtn = el('button', {type: 'button', class: 'talk',
			onclick: () => phone.setTakeover(!phone.takeover)},
			'Talk (take over)');
		this.links = el('div', {class: 'row'});
		this.actions = el('div', {class: 'actions'},
			el('form', {class: 'say', onsubmit: (e) => this.say(e)},
				this.sayInput, el('button', {}, 'Say')),
			el('form', {class: 'dtmf', onsubmit: (e) => this.dtmf(e)},
				this.dtmfInput, el('button', {}, 'Send DTMF')),
			this.takeBox,
			el('div', {class: 'row'}, this.hangBtn, this.takeBtn),
			el('div', {class: 'row voice'}, this.listenBtn, this.talkBtn),
			el('details', {class: 'more'}, el('summary', {},
				'More: instructions, context, transfer'),
			this.miniForm('instructions', 'Instructions for this call',
				'text', 'e.g. Offer a callback tomorrow morning',
				'Set', (v) => ({text: v})),
			this.miniForm('context', 'Add a fact for the agent', 'text',
				'e.g. Order 1234 shipped today', 'Add',
				(v) => ({text: v, trusted: true})),
			this.miniForm('transfer', 'Transfer to (blind)', 'target',
				'number or SIP URI', 'Transfer', (v) => ({target: v}))));
		this.card = el('article', {class: 'card call',
			dataset: {call: id}},
			el('div', {class: 'call-head'},
				el('div', {}, this.who, this.meta), this.timer),
			this.transcript, this.actions, this.links);
	}

	/* one-field form posting to /api/calls/{id}/{action} */
	miniForm(action, label, name, placeholder, button, bodyOf) {
		const input = el('input', {name, placeholder, autocomplete: 'off',
			maxlength: action === 'transfer' ? 128 : 4000,
			'aria-label': label});
		return el('form', {class: 'mini ' + action, onsubmit: async (e) => {
			e.preventDefault();
			const v = input.value.trim();
			if (!v)
				return;
			try {
				await api('POST', `/api/calls/${encodeURIComponent(
					this.id)}/${action}`, bodyOf(v));
				input.value = '';
				this.sys(`${label.toLowerCase()}: ${v}`);
			} catch (err) {
				toast(`${button} failed: ${err.message}`, true);
			}
		}}, el('label', {}, label, el('span', {class: 'row'}, input,
			el('button', {}, button))));
	}

	update() {
		const i = this.info;
		this.who.textContent = (i.direction === 'outbound' ?
			'To ' : 'From ') + (i.caller || 'withheld');
		const badges = [
			el('span', {class: 'badge ' + (this.ended ? 'ended' :
				i.state)}, this.ended ? `ended${this.endReason ?
				' · ' + this.endReason : ''}` : i.state),
			el('span', {class: 'badge'}, i.direction || 'inbound'),
		];
		if (i.group)
			badges.push(el('span', {class: 'badge',
				title: 'caller group'}, i.group));
		if (i.codec)
			badges.push(el('span', {class: 'badge',
				title: 'codec'}, i.codec + (i.srtp ? ' · SRTP' : '')));
		if (i.taken_over)
			badges.push(el('span', {class: 'badge takeover'},
				'taken over'));
		clear(this.meta).append(...badges);
		this.updateTimer();
		this.takeBtn.textContent = this.mine ? 'Release' : 'Take over';
		this.takeBtn.hidden = !agent.available || this.ended;
		this.takeBox.hidden = !this.mine;
		const listening = phone.mode === 'listen' &&
			phone.callId === this.id;
		const own = phone.mode === 'call' && phone.callId === this.id;
		this.listenBtn.hidden = !phone.available || this.ended || own ||
			i.state !== 'answered';
		this.listenBtn.disabled = !listening && phone.mode !== 'idle';
		this.listenBtn.textContent = listening ? 'Stop listening' :
			'Listen in';
		this.talkBtn.hidden = !listening;
		this.talkBtn.textContent = phone.takeover ?
			'Release to the agent' : 'Talk (take over)';
		this.talkBtn.classList.toggle('active', listening &&
			phone.takeover);
	}

	toggleListen() {
		if (phone.mode === 'listen' && phone.callId === this.id)
			phone.hangup();
		else
			phone.listen(this.id);
	}

	updateTimer() {
		const i = this.info;
		const from = i.answered || i.started;
		if (!from) {
			this.timer.textContent = '';
			return;
		}
		const to = this.ended ? (this.endTs || Date.now() / 1000) :
			Date.now() / 1000;
		this.timer.textContent = (i.answered ? '' : 'ringing ') +
			fmtDur((to - from) * 1000);
	}

	scroll(force) {
		const t = this.transcript;
		if (force || this.pinned)
			t.scrollTop = t.scrollHeight;
	}

	addLine(cls, who, text) {
		const line = el('div', {class: 'line ' + cls},
			who ? el('span', {class: 'who'}, who) : null, text);
		this.transcript.append(line);
		this.scroll();
		return line;
	}

	sys(text) {
		return this.addLine('sys', null, text);
	}

	addTurn(t) {
		const n = t.turn;
		if (n !== undefined && this.turns.has(n))
			return;
		if (n !== undefined)
			this.turns.add(n);
		if (this.partial) {
			this.partial.remove();
			this.partial = null;
		}
		/* a turn answered from this page was shown as it happened */
		for (const [kind, text] of [['caller', t.transcript],
			['you', t.reply]]) {
			const i = this.provisional.findIndex((p) => p.kind === kind &&
				p.text === text);
			if (i >= 0)
				this.provisional.splice(i, 1)[0].line.remove();
		}
		if (t.transcript)
			this.addLine('caller', 'Caller', t.transcript);
		if (t.reply)
			this.addLine('agent', 'Agent', t.reply);
		const parts = [];
		if (t.stt_ms >= 0)
			parts.push(`stt ${t.stt_ms} ms`);
		if (t.brain_ms >= 0)
			parts.push(`brain ${t.brain_ms} ms`);
		if (t.tts_first_audio_ms >= 0)
			parts.push(`tts ${t.tts_first_audio_ms} ms`);
		if (t.voice_to_voice_ms >= 0)
			parts.push(`voice to voice ${t.voice_to_voice_ms} ms`);
		if (t.interrupted)
			parts.push('interrupted');
		if (parts.length) {
			this.transcript.append(el('div', {class: 'timings'},
				parts.join(' · ')));
			this.scroll();
		}
	}

	/* turns recorded before the page saw the call */
	async backfill() {
		try {
			const r = await api('GET', '/api/calls/' +
				encodeURIComponent(this.id));
			if (r.live)
				Object.assign(this.info, r.live);
			if (r.record) {
				const rec = r.record;
				for (const k of ['group', 'codec', 'caller'])
					if (!this.info[k] && rec[k])
						this.info[k] = rec[k];
				(rec.turns || []).forEach((t) => this.addTurn(t));
			}
			this.update();
		} catch (e) { /* not recorded yet */ }
	}

	event(ev) {
		const i = this.info;
		for (const k of ['group', 'caller', 'codec'])
			if (ev[k])
				i[k] = ev[k];
		switch (ev.event) {
		case 'call_incoming':
			i.direction = 'inbound';
			i.started = i.started || ev.ts;
			break;
		case 'call_outgoing':
			i.direction = 'outbound';
			i.started = i.started || ev.ts;
			break;
		case 'call_answered':
			i.state = 'answered';
			i.answered = ev.ts;
			if (ev.direction)
				i.direction = ev.direction;
			if (ev.srtp !== undefined)
				i.srtp = ev.srtp;
			this.sys('answered');
			break;
		case 'early_media':
			this.sys('early media');
			break;
		case 'turn':
			this.addTurn(ev);
			break;
		case 'barge_in':
			this.sys('caller interrupted the agent');
			break;
		case 'listen_in':
			this.sys(ev.on ? 'an operator listens in' :
				'the operator stopped listening');
			break;
		case 'takeover_voice':
			this.info.taken_over = !!ev.on;
			this.sys(ev.on ? 'an operator speaks: the agent is quiet' :
				'the agent has the call again');
			break;
		case 'dtmf':
			this.sys('keypad ' + (ev.digit || '*'));
			break;
		case 'tool_call':
			this.sys(`tool ${ev.tool || '?'}: ${ev.decision || ''}` +
				(ev.category ? ` (${ev.category})` : '') +
				(ev.ok === false ? ', failed' : ''));
			break;
		case 'gate':
			if (ev.decision === 'deny')
				this.sys(`gate denied ${ev.tool || '?'}` +
					(ev.category ? ` (${ev.category})` : ''));
			break;
		case 'screen':
			this.sys(`screened: ${ev.verdict || '?'}` +
				(ev.rule ? ` (${ev.rule})` : ''));
			break;
		case 'auth':
			this.sys('caller authentication: ' + (ev.result || '?'));
			break;
		case 'transfer':
			this.sys(`${ev.kind || ''} transfer ` + (ev.ok ? 'done' :
				'failed') + (ev.sip_code ? ` (${ev.sip_code})` : ''));
			break;
		case 'call_result':
			this.sys('result: ' + (ev.outcome || '?') +
				(ev.summary ? ` — ${ev.summary}` : ''));
			break;
		case 'message_taken':
			this.sys('message taken');
			break;
		case 'call_outcome':
			if (ev.outcome)
				this.sys('outcome: ' + ev.outcome);
			break;
		case 'call_ended':
			this.end(ev.reason, ev);
			return;
		default: {
			/* streaming transcripts, if the server sends them */
			const text = ev.partial || ev.text || ev.transcript;
			if (/partial/.test(ev.event || '') && text) {
				if (!this.partial)
					this.partial = this.addLine('caller partial',
						'Caller', '');
				this.partial.lastChild.textContent = text;
				this.scroll();
			}
		}
		}
		this.update();
	}

	end(reason, ev) {
		if (this.ended)
			return;
		this.ended = true;
		endedIds.add(this.id);
		if (endedIds.size > 1000)
			endedIds.delete(endedIds.values().next().value);
		this.endReason = reason || '';
		this.endTs = ev && ev.ts;
		this.sys('call ended' + (reason ? ` (${reason})` : ''));
		clearInterval(this.tick);
		this.actions.hidden = true;
		this.card.classList.add('ended');
		clear(this.links).append(el('a', {href: '#call/' +
			encodeURIComponent(this.id), class: 'button'},
			'Open in history'), el('button', {type: 'button',
			class: 'link', onclick: () => this.remove()}, 'Dismiss'));
		agent.forget(this.id);
		this.mine = false;
		this.info.taken_over = false;
		this.update();
		/* ended cards stay a while so the end can be seen */
		this.reap = setTimeout(() => this.remove(), 120000);
		updateCounts();
	}

	remove() {
		clearTimeout(this.reap);
		clearInterval(this.tick);
		this.card.remove();
		live.delete(this.id);
		updateEmpty();
		updateCounts();
	}

	async hangup(btn) {
		btn.disabled = true;
		try {
			await api('POST', `/api/calls/${encodeURIComponent(this.id)}` +
				'/hangup');
			if (!this.ended)
				this.sys('hanging up…');
		} catch (e) {
			toast('Hang up failed: ' + e.message, true);
		} finally {
			btn.disabled = false;
		}
	}

	async say(ev) {
		ev.preventDefault();
		const text = this.sayInput.value.trim();
		if (!text)
			return;
		try {
			await api('POST', `/api/calls/${encodeURIComponent(this.id)}` +
				'/say', {text});
			this.sayInput.value = '';
			this.addLine('agent', 'Operator (said)', text);
		} catch (e) {
			toast('Say failed: ' + e.message, true);
		}
	}

	async dtmf(ev) {
		ev.preventDefault();
		const digits = this.dtmfInput.value.trim();
		if (!/^[0-9*#A-Da-d]{1,64}$/.test(digits)) {
			toast('Digits are 0-9, *, # and A-D', true);
			return;
		}
		try {
			await api('POST', `/api/calls/${encodeURIComponent(this.id)}` +
				'/dtmf', {digits});
			this.dtmfInput.value = '';
			this.sys(`sent ${digits.length} DTMF digit` +
				(digits.length > 1 ? 's' : ''));
		} catch (e) {
			toast('DTMF failed: ' + e.message, true);
		}
	}

	/* ---- takeover (agent WebSocket) */

	toggleTakeover() {
		if (this.mine)
			agent.send({type: 'release', session_id: this.id});
		else
			agent.send({type: 'takeover', session_id: this.id});
	}

	takenOver(on) {
		this.mine = on;
		this.info.taken_over = on;
		if (!on)
			this.pending = null;
		this.renderTakeover();
		this.update();
	}

	turnRequest(msg) {
		if (msg.transcript)
			this.provisional.push({kind: 'caller', text: msg.transcript,
				line: this.addLine('caller', 'Caller (waiting for you)',
					msg.transcript)});
		this.pending = msg.request_id;
		this.renderTakeover();
	}

	renderTakeover() {
		const box = clear(this.takeBox);
		const input = el('input', {maxlength: 4000, autocomplete: 'off',
			placeholder: this.pending ? 'Type the reply…' :
				'Waiting for the caller to speak…',
			'aria-label': 'Reply'});
		input.disabled = !this.pending;
		const form = el('form', {onsubmit: (e) => {
			e.preventDefault();
			const reply = input.value.trim();
			if (!reply || !this.pending)
				return;
			agent.send({type: 'reply', session_id: this.id,
				request_id: this.pending, reply});
			this.provisional.push({kind: 'you', text: reply,
				line: this.addLine('agent', 'You', reply)});
			this.pending = null;
			this.renderTakeover();
		}}, input, el('button', {class: 'primary',
			disabled: !this.pending}, 'Reply'));
		box.append(el('div', {class: 'pending'},
			this.pending ? 'The caller is waiting for your reply.' :
				'You answer this call. Replies are spoken to the ' +
				'caller; without one in time the brain answers.'),
			form);
		if (this.pending)
			input.focus();
	}
}

function updateEmpty() {
	$('#live-empty').hidden = live.size > 0;
}

let unreadMessages = 0;

function updateCounts() {
	updateEmpty();
	let n = 0;
	for (const lc of live.values())
		n += lc.ended ? 0 : 1;
	const lcnt = $('#live-count');
	lcnt.hidden = n === 0;
	lcnt.textContent = n;
	const mcnt = $('#msg-count');
	mcnt.hidden = unreadMessages === 0;
	mcnt.textContent = unreadMessages;
}

async function loadLive() {
	/* only calls known before asking can have ended unseen: one that
	 * appears while the answer is on its way is newer than the answer */
	const before = new Set(live.keys());
	let r;
	try { r = await api('GET', '/api/calls?limit=1'); } catch (e) {
		return;
	}
	const ids = new Set();
	for (const c of r.live || []) {
		ids.add(c.id);
		let lc = live.get(c.id);
		if (!lc) {
			lc = new LiveCall(c);
			live.set(c.id, lc);
			lc.backfill();
		} else {
			Object.assign(lc.info, c);
			lc.update();
		}
	}
	/* calls that ended while the socket was down */
	for (const lc of live.values())
		if (!lc.ended && before.has(lc.id) && !ids.has(lc.id))
			lc.end('', null);
	updateCounts();
}

async function loadScheduled() {
	let r;
	try { r = await api('GET', '/api/calls/scheduled'); } catch (e) {
		$('#scheduled').hidden = true;
		return;
	}
	/* queued (waiting for its time) or started (dialling now) */
	const rows = (r.scheduled || []).filter((x) => x.state === 'queued' ||
		x.state === 'started');
	$('#scheduled').hidden = rows.length === 0;
	const box = clear($('#scheduled-list'));
	if (!rows.length)
		return;
	box.append(table([
		{label: 'When', get: (x) => fmtTime(x.at), cls: 'num'},
		{label: 'Number', get: (x) => x.request && x.request.number},
		{label: 'Objective', get: (x) => x.request && x.request.objective,
			cls: 'text-cell'},
		{label: 'State', get: (x) => x.state},
		{label: '', get: (x) => x.state !== 'queued' ? '' :
			armedButton('Cancel', 'Confirm cancel',
			async () => {
				try {
					await api('DELETE', '/api/calls/scheduled/' + x.id);
				} catch (e) {
					toast('Cancel failed: ' + e.message, true);
				}
				loadScheduled();
			})},
	], rows));
}

async function placeCall(ev) {
	ev.preventDefault();
	const f = ev.target;
	const note = $('.form-note', f);
	const body = {number: f.number.value.trim()};
	if (f.objective.value.trim())
		body.objective = f.objective.value.trim();
	if (f.at.value)
		body.at = new Date(f.at.value).toISOString().replace(/\.\d+Z$/, 'Z');
	note.className = 'form-note';
	note.textContent = 'Calling…';
	try {
		const r = await api('POST', '/api/calls', body);
		note.textContent = r.scheduled ? `Scheduled (#${r.scheduled})` :
			'Call placed';
		f.reset();
		if (r.scheduled)
			loadScheduled();
	} catch (e) {
		note.className = 'form-note bad';
		note.textContent = e.message;
	}
}

/* ---------------------------------------------- agent takeover socket */

/* Feature check: the takeover button shows only when /api/agent/ws
 * accepts a WebSocket.  One socket serves every call taken over from
 * this page; closing it releases them (the server does that). */
const agent = {
	ws: null,
	available: false,
	queue: [],
	retry: null,

	connect() {
		if (this.ws || !running)
			return;
		let opened = false;
		const ws = new WebSocket(wsUrl('/api/agent/ws'));
		this.ws = ws;
		ws.onopen = () => {
			opened = true;
			this.setAvailable(true);
			for (const m of this.queue.splice(0))
				ws.send(JSON.stringify(m));
		};
		ws.onmessage = (m) => {
			let msg;
			try { msg = JSON.parse(m.data); } catch (e) { return; }
			this.onMessage(msg);
		};
		ws.onclose = () => {
			if (this.ws !== ws)
				return;
			this.ws = null;
			for (const lc of live.values())
				if (lc.mine)
					lc.takenOver(false);
			if (!opened) {
				/* not offered by this server (or refused) */
				this.setAvailable(false);
				return;
			}
			if (running)
				this.retry = setTimeout(() => this.connect(), 3000);
		};
	},

	setAvailable(on) {
		this.available = on;
		for (const lc of live.values())
			lc.update();
	},

	send(msg) {
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			this.ws.send(JSON.stringify(msg));
		else {
			this.queue.push(msg);
			this.connect();
		}
	},

	onMessage(msg) {
		const sid = msg.session_id || msg.call_id;
		const lc = sid ? live.get(sid) : null;
		switch (msg.type) {
		case 'takeover.ack':
			if (lc && msg.ok)
				lc.takenOver(true);
			else if (!msg.ok)
				toast('Take over failed: ' + (msg.detail || 'refused'),
					true);
			break;
		case 'release.ack':
			if (lc)
				lc.takenOver(false);
			break;
		case 'released':
			if (lc) {
				lc.takenOver(false);
				lc.sys('released: ' + (msg.reason || msg.detail ||
					'taken by another agent'));
			}
			break;
		case 'turn.request':
			if (lc && lc.mine)
				lc.turnRequest(msg);
			break;
		case 'turn.timeout':
		case 'turn.superseded':
			if (lc && lc.pending === msg.request_id) {
				lc.pending = null;
				lc.renderTakeover();
				lc.sys(msg.type === 'turn.timeout' ?
					'no reply in time: the brain answered' :
					'the caller spoke again');
			}
			break;
		case 'error':
			toast('Agent socket: ' + (msg.detail || msg.code), true);
			break;
		default:
			break;
		}
	},

	forget(id) {
		const lc = live.get(id);
		if (lc)
			lc.pending = null;
	},

	close() {
		clearTimeout(this.retry);
		if (this.ws) {
			const ws = this.ws;
			this.ws = null;
			ws.close();
		}
		this.queue = [];
	},
};

/* ------------------------------------------------------------ history */

const PAGE = 25;
let historyOffset = 0;

function table(cols, rows, onRow) {
	const head = el('tr', {}, cols.map((c) => el('th', {}, c.label)));
	const body = el('tbody', {}, rows.map((r) => {
		const tr = el('tr', onRow ? {class: 'clickable', tabindex: 0} : {},
			cols.map((c) => {
				const v = c.get(r);
				return el('td', {'data-label': c.label,
					class: c.cls || null},
					v instanceof Node ? v : (v === null ||
						v === undefined || v === '' ? '–' : String(v)));
			}));
		if (onRow) {
			tr.addEventListener('click', () => onRow(r));
			tr.addEventListener('keydown', (e) => {
				if (e.key === 'Enter')
					onRow(r);
			});
		}
		return tr;
	}));
	return el('div', {class: 'table-wrap'},
		el('table', {class: 'stack-sm'}, el('thead', {}, head), body));
}

async function loadHistory() {
	const box = $('#history-list');
	let r;
	try {
		r = await api('GET', `/api/calls?offset=${historyOffset}` +
			`&limit=${PAGE}`);
	} catch (e) {
		clear(box).append(el('p', {class: 'error'}, e.message));
		return;
	}
	/* {calls, total} (older servers: {recent: {calls, total}}) */
	const rec = r.recent && !Array.isArray(r.recent) ? r.recent : r;
	const calls = rec.calls || (Array.isArray(r.recent) ? r.recent : []);
	const total = rec.total || calls.length;
	clear(box);
	if (!calls.length)
		box.append(el('p', {class: 'empty'}, 'No calls recorded yet.'));
	else
		box.append(table([
			{label: 'Started', get: (c) => fmtTime(c.started),
				cls: 'num'},
			{label: 'Direction', get: (c) => c.direction},
			{label: 'Caller', get: (c) => c.caller || 'withheld'},
			{label: 'Group', get: (c) => c.group},
			{label: 'Codec', get: (c) => c.codec},
			{label: 'Duration', get: (c) => c.live ? 'live' :
				fmtDur(c.duration_ms), cls: 'num'},
			{label: 'Outcome', get: (c) => c.outcome || c.end_reason},
			{label: '', get: (c) => el('a', {href: '#call/' +
				encodeURIComponent(c.id)}, 'Open')},
		], calls, (c) => { location.hash = '#call/' +
			encodeURIComponent(c.id); }));
	$('#history-prev').disabled = historyOffset === 0;
	$('#history-next').disabled = historyOffset + PAGE >= total;
	$('#history-page').textContent = total ? `${historyOffset + 1}–` +
		`${Math.min(historyOffset + calls.length, total)} of ${total}` : '';
}

function fact(label, value) {
	return el('div', {class: 'fact'}, el('dt', {}, label),
		el('dd', {}, value === null || value === undefined ||
			value === '' ? '–' : value));
}

/* An <audio> player for a file the API may serve; if it does not, say
 * where the file is instead. */
function player(url, path, what) {
	const note = el('p', {class: 'muted', hidden: true});
	const a = el('audio', {controls: true, preload: 'none', src: url});
	a.addEventListener('error', () => {
		a.hidden = true;
		note.hidden = false;
		note.textContent = path ? `${what} kept at ${path} (this server ` +
			'does not stream it).' : `${what}: not available.`;
	});
	/* preload none: probe so a missing file is reported up front (the
	 * headers tell; the body is not downloaded) */
	const ctl = new AbortController();
	fetch(url, {credentials: 'same-origin', signal: ctl.signal})
		.then((r) => {
			ctl.abort();
			if (!r.ok)
				a.dispatchEvent(new Event('error'));
		}).catch(() => {});
	return el('div', {}, a, note);
}

async function loadCall(id) {
	const box = clear($('#call-detail'));
	$('#call-title').textContent = 'Call';
	let r;
	try {
		r = await api('GET', '/api/calls/' + encodeURIComponent(id));
	} catch (e) {
		box.append(el('p', {class: 'error'}, e.status === 404 ?
			'No call with that id.' : e.message));
		return;
	}
	const c = r.record || r.live || {};
	$('#call-title').textContent = `${c.direction === 'outbound' ? 'To' :
		'From'} ${c.caller || 'withheld'} · ${fmtTime(c.started)}`;
	const facts = el('dl', {class: 'facts'},
		fact('Call id', el('code', {}, r.id)),
		fact('Direction', c.direction),
		fact('Caller', c.caller || 'withheld'),
		fact('Group', c.group),
		fact('Privilege', c.privilege),
		fact('Codec', c.codec),
		fact('Transport', c.transport),
		fact('SRTP', c.srtp === undefined || c.srtp === null ? null :
			c.srtp ? 'yes' : 'no'),
		fact('Started', fmtTime(c.started)),
		fact('Answered', fmtTime(c.answered)),
		fact('Ended', r.live ? 'live now' : fmtTime(c.ended)),
		fact('Duration', fmtDur(c.duration_ms)),
		fact('Outcome', c.outcome),
		fact('End reason', c.end_reason),
		fact('SIP code', c.sip_code),
		fact('Barge-ins', c.barge_ins));
	box.append(el('div', {class: 'card'}, facts));
	if (r.live)
		box.append(el('p', {}, 'This call is live: ',
			el('a', {href: '#live'}, 'watch it on the Live page'), '.'));

	const rec = r.record;
	if (rec && (rec.recording || rec.recording_url)) {
		box.append(el('div', {class: 'card'}, el('h3', {}, 'Recording'),
			player(rec.recording_url ||
				`/api/calls/${encodeURIComponent(r.id)}/recording`,
				rec.recording, 'Recording')));
	}

	const turns = rec && rec.turns ? rec.turns : [];
	box.append(el('h3', {}, `Turns (${turns.length})`));
	if (!turns.length)
		box.append(el('p', {class: 'empty'}, 'No turns recorded.'));
	else
		box.append(table([
			{label: '#', get: (t) => t.turn, cls: 'num'},
			{label: 'Caller said', get: (t) => t.transcript,
				cls: 'text-cell'},
			{label: 'Agent replied', get: (t) => t.reply,
				cls: 'text-cell'},
			{label: 'STT', get: (t) => fmtMs(t.stt_ms), cls: 'num'},
			{label: 'Brain', get: (t) => fmtMs(t.brain_ms), cls: 'num'},
			{label: 'TTS', get: (t) => fmtMs(t.tts_first_audio_ms),
				cls: 'num'},
			{label: 'Voice to voice',
				get: (t) => fmtMs(t.voice_to_voice_ms), cls: 'num'},
			{label: 'Interrupted', get: (t) => t.interrupted ? 'yes' :
				''},
		], turns));

	const tools = rec && rec.tool_calls ? rec.tool_calls : [];
	if (tools.length) {
		box.append(el('h3', {}, `Tool calls (${tools.length})`));
		box.append(table([
			{label: 'Turn', get: (t) => t.turn, cls: 'num'},
			{label: 'Tool', get: (t) => t.tool},
			{label: 'Decision', get: (t) => t.decision},
			{label: 'Category', get: (t) => t.category},
			{label: 'Result', get: (t) => t.ok === null ||
				t.ok === undefined ? '' : t.ok ? 'ok' : 'failed'},
			{label: 'At', get: (t) => fmtTime(t.ts), cls: 'num'},
		], tools));
	}
}

/* ----------------------------------------------------------- messages */

async function loadMessages() {
	const box = $('#messages-list');
	let r;
	try {
		r = await api('GET', '/api/messages?limit=100');
	} catch (e) {
		clear(box).append(el('p', {class: 'error'}, e.code ===
			'unavailable' ? 'Messages need persistence (the store).' :
			e.message));
		return;
	}
	const msgs = r.messages || [];
	unreadMessages = msgs.filter((m) => m.read === false).length;
	updateCounts();
	clear(box);
	if (!msgs.length) {
		box.append(el('p', {class: 'empty'}, 'No messages.'));
	} else {
		box.append(el('div', {class: 'messages'}, msgs.map((m) => {
			const del = armedButton('Delete', 'Confirm delete',
				async () => {
					try {
						await api('DELETE', '/api/messages/' + m.id);
						loadMessages();
					} catch (e) {
						toast('Delete failed: ' + e.message, true);
					}
				});
			return el('article', {class: 'card message' +
				(m.read === false ? ' unread' : ''),
				dataset: {message: m.id}},
				el('div', {class: 'call-head'},
					el('div', {class: 'call-who'}, m.name || 'No name'),
					el('span', {class: 'timer'}, fmtTime(m.ts))),
				m.callback ? el('div', {}, 'Call back: ',
					el('a', {href: 'tel:' + m.callback.replace(
						/[^0-9+*#]/g, '')}, m.callback)) : null,
				el('p', {class: 'text'}, m.text || ''),
				m.audio_path ? player(m.audio_url ||
					`/api/messages/${m.id}/audio`,
					m.audio_path, 'Audio') : null,
				el('div', {class: 'row'}, m.call ? el('a', {
					class: 'button', href: '#call/' +
					encodeURIComponent(m.call)}, 'Call details') : null,
				del));
		})));
	}
	loadCallerHistory();
}

async function countMessages() {
	try {
		const r = await api('GET', '/api/messages?limit=500');
		unreadMessages = (r.messages || []).filter((m) =>
			m.read === false).length;
		updateCounts();
	} catch (e) { /* no store */ }
}

async function loadCallerHistory() {
	const box = $('#history-callers');
	let r;
	try { r = await api('GET', '/api/history'); } catch (e) {
		clear(box).append(el('p', {class: 'muted'}, e.message));
		return;
	}
	const rows = Array.isArray(r) ? r : (r.history || r.callers || []);
	clear(box);
	if (!rows.length) {
		box.append(el('p', {class: 'muted'}, 'No remembered callers ' +
			'(see keep_history).'));
		return;
	}
	box.append(table([
		{label: 'Caller', get: (h) => h.key},
		{label: 'Updated', get: (h) => fmtTime(h.updated), cls: 'num'},
		{label: 'What is remembered', get: (h) => JSON.stringify(
			h.history), cls: 'text-cell'},
		{label: '', get: (h) => armedButton('Forget', 'Confirm',
			async () => {
				try {
					await api('DELETE', '/api/history/' +
						encodeURIComponent(h.key));
					loadCallerHistory();
				} catch (e) {
					toast(e.message, true);
				}
			})},
	], rows));
}

/* ------------------------------------------------------ registrations */

async function loadRegistrations() {
	const box = $('#regs-list');
	let r;
	try { r = await api('GET', '/api/registrations'); } catch (e) {
		clear(box).append(el('p', {class: 'error'}, e.message));
		return;
	}
	clear(box);
	if (!r.length) {
		box.append(el('p', {class: 'empty'}, 'No SIP accounts register ' +
			'(direct mode, or none configured).'));
		return;
	}
	box.append(table([
		{label: 'Account', get: (g) => g.account},
		{label: 'Status', get: (g) => el('span', {class: 'badge ' +
			(g.registered ? 'answered' : 'takeover')},
			g.registered ? 'registered' : 'failed')},
		{label: 'Code', get: (g) => g.code || '', cls: 'num'},
		{label: 'Expires', get: (g) => g.expires ? `${g.expires} s` : '',
			cls: 'num'},
		{label: 'Reason', get: (g) => g.reason},
		{label: 'Since', get: (g) => fmtTime(g.since), cls: 'num'},
	], r));
}

/* ----------------------------------------------------------- settings */

let settings = {};

async function loadSettings() {
	let cfg, instr;
	try {
		[cfg, instr] = await Promise.all([api('GET', '/api/config'),
			api('GET', '/api/instructions').catch(() => null)]);
	} catch (e) {
		clear($('#settings-runtime')).append(el('p', {class: 'error'},
			e.message));
		return;
	}
	settings = cfg;
	const f = $('#instructions-form');
	f.text.value = instr && instr.text ? instr.text : '';
	const rt = clear($('#settings-runtime'));
	const other = clear($('#settings-other'));
	for (const key of Object.keys(cfg).sort()) {
		const s = cfg[key];
		const v = s.value === null || s.value === undefined ? '' :
			String(s.value);
		if (s.runtime) {
			const input = el('input', {name: key, value: v,
				autocomplete: 'off', spellcheck: 'false',
				'aria-label': key});
			input.addEventListener('input', () => input.classList.toggle(
				'dirty', input.value !== v));
			rt.append(el('label', {class: 'setting'},
				el('span', {class: 'key'}, key), input));
		} else {
			other.append(el('div', {class: 'setting'},
				el('span', {class: 'key'}, key),
				el('span', {class: 'val muted'}, s.secret ? '(secret)' :
					v || '(not set)')));
		}
	}
	if (!rt.firstChild)
		rt.append(el('p', {class: 'muted'}, 'No run-time settings.'));
}

function settingValue(raw) {
	if (raw === 'true' || raw === 'false')
		return raw === 'true';
	if (/^-?\d+$/.test(raw) && raw.length < 16)
		return Number(raw);
	return raw;
}

async function saveSettings(ev) {
	ev.preventDefault();
	const note = $('.form-note', ev.target);
	const patch = {};
	for (const input of ev.target.querySelectorAll('input.dirty'))
		patch[input.name] = settingValue(input.value.trim());
	note.className = 'form-note';
	if (!Object.keys(patch).length) {
		note.textContent = 'Nothing changed.';
		return;
	}
	try {
		await api('PATCH', '/api/config', patch);
		note.textContent = `Saved ${Object.keys(patch).join(', ')}.`;
		loadSettings();
	} catch (e) {
		note.className = 'form-note bad';
		note.textContent = e.message;
	}
}

async function saveInstructions(ev) {
	ev.preventDefault();
	const note = $('.form-note', ev.target);
	note.className = 'form-note';
	try {
		await api('POST', '/api/instructions',
			{text: ev.target.text.value});
		note.textContent = 'Saved.';
	} catch (e) {
		note.className = 'form-note bad';
		note.textContent = e.message;
	}
}

/* ------------------------------------------------- softphone (WebRTC) */

/* GET /api/phone (docs/webrtc.md): call the agent from this page, or
 * listen in on a live call and take it over with your own voice.  One
 * session (call or listen-in) at a time.  The offer goes out at once,
 * without waiting for ICE gathering: agentline is ICE-lite and learns
 * where we are from our connectivity checks. */
const LEVEL_FLOOR = 0.01;     /* RMS that counts as "hearing something" */

const phone = {
	ws: null,
	available: false,
	groups: [],
	defaultGroup: null,
	mode: 'idle',                /* idle | starting | call | listen */
	callId: null,
	pc: null,
	stream: null,
	audioCtx: null,
	analyser: null,
	levelTimer: null,
	level: 0,
	firstAudioAt: null,          /* performance.now() of first sound */
	muted: false,
	takeover: false,
	autoCall: false,             /* #phone: call as soon as we can */
	early: null,                 /* ...with the microphone asked for
					while the page still signs in */
	marks: {},                   /* performance.now() of each step */

	mark(name) {
		if (this.marks[name] === undefined)
			this.marks[name] = Math.round(performance.now());
	},
	retry: null,

	connect() {
		if (this.ws || !(running || this.autoCall) ||
		    !window.RTCPeerConnection)
			return;
		let opened = false;
		const ws = new WebSocket(wsUrl('/api/phone'));
		this.ws = ws;
		ws.onopen = () => {
			opened = true;
			this.mark('ws_open');
		};
		ws.onmessage = (m) => {
			let msg;
			try { msg = JSON.parse(m.data); } catch (e) { return; }
			this.onMessage(msg);
		};
		ws.onclose = () => {
			if (this.ws !== ws)
				return;
			this.ws = null;
			this.stop(opened ? 'the connection to agentline closed' :
				null);
			if (!opened) {
				this.setAvailable(false);
				return;
			}
			if (running)
				this.retry = setTimeout(() => this.connect(), 3000);
		};
	},

	close() {
		clearTimeout(this.retry);
		if (this.ws) {
			const ws = this.ws;
			this.ws = null;
			ws.close();
		}
		this.stop(null);
	},

	send(msg) {
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			this.ws.send(JSON.stringify(msg));
	},

	setAvailable(on) {
		this.available = on;
		$('#phone').hidden = !on;
		for (const lc of live.values())
			lc.update();
	},

	status(text, bad) {
		const s = $('#phone-status');
		s.textContent = text;
		s.classList.toggle('bad', !!bad);
	},

	render() {
		const busy = this.mode !== 'idle';
		const inCall = this.mode === 'call';
		$('#phone-call').hidden = busy;
		$('#phone-group').disabled = busy;
		$('#phone-hangup').hidden = !busy || this.mode === 'listen';
		$('#phone-mute').hidden = !inCall;
		$('#phone-keypad').hidden = !inCall;
		$('#phone-level').hidden = !busy;
		const m = $('#phone-mute');
		m.textContent = this.muted ? 'Unmute' : 'Mute';
		m.setAttribute('aria-pressed', this.muted ? 'true' : 'false');
		for (const lc of live.values())
			lc.update();
	},

	setGroups(groups, dflt) {
		const sel = $('#phone-group');
		const keep = sel.value;
		this.groups = groups || [];
		this.defaultGroup = dflt;
		clear(sel);
		for (const g of this.groups)
			sel.append(el('option', {value: g.name},
				`${g.name} (level ${g.privilege})`));
		sel.value = this.groups.some((g) => g.name === keep) ? keep :
			(dflt || '');
	},

	onMessage(msg) {
		switch (msg.type) {
		case 'state':
			if (msg.groups)
				this.setGroups(msg.groups, msg.default_group);
			if (!this.available)
				this.setAvailable(true);
			if (msg.mode === 'listen')
				this.takeover = !!msg.takeover;
			this.render();
			if (this.autoCall && this.mode === 'idle') {
				this.autoCall = false;
				this.call();
			}
			break;
		case 'answer':
			if (!this.pc)
				return;
			this.mark('answer');
			this.callId = msg.call_id;
			this.pc.setRemoteDescription({type: 'answer', sdp: msg.sdp})
				.catch((e) => this.fail('answer refused: ' + e.message));
			this.status(this.mode === 'listen' ? 'Listening…' :
				'Connecting…');
			break;
		case 'ended': {
			const was = this.mode;
			this.stop(null);
			this.status((was === 'listen' ? 'Stopped listening' :
				'Call ended') + (msg.reason ? ` (${msg.reason})` : ''));
			break;
		}
		case 'error':
			if (this.mode === 'starting')
				this.stop(null);
			this.status(msg.message || msg.code || 'error', true);
			toast('Softphone: ' + (msg.message || msg.code), true);
			break;
		default:
			break;
		}
	},

	fail(text) {
		this.send({type: 'hangup'});
		this.stop(null);
		this.status(text, true);
	},

	/* kind: 'call' or 'listen' (callId) */
	async begin(kind, callId) {
		if (this.mode !== 'idle' || !this.available)
			return;
		this.mode = 'starting';
		this.callId = callId || null;
		this.muted = false;
		this.takeover = false;
		this.firstAudioAt = null;
		this.render();
		this.status(kind === 'call' ? 'Calling…' : 'Connecting…');
		try {
			this.mark('gum_start');
			const early = this.early;
			this.early = null;
			this.stream = await (early || this.microphone());
		} catch (e) {
			this.stop(null);
			this.status('No microphone: ' + e.message, true);
			return;
		}
		if (this.mode !== 'starting') {
			this.stopTracks();
			return;
		}
		/* listening: the microphone stays off until you take over */
		for (const t of this.stream.getAudioTracks())
			t.enabled = kind === 'call';
		const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle',
			rtcpMuxPolicy: 'require'});
		this.pc = pc;
		for (const t of this.stream.getAudioTracks())
			pc.addTrack(t, this.stream);
		pc.ontrack = (e) => this.play(e.streams[0] ||
			new MediaStream([e.track]));
		pc.onconnectionstatechange = () => {
			if (pc !== this.pc)
				return;
			if (pc.connectionState === 'connected')
				this.mark('connected');
			if (pc.connectionState === 'connected')
				this.status(this.mode === 'listen' ? 'Listening' :
					'In call with the agent');
			else if (pc.connectionState === 'failed')
				this.fail('Media connection failed');
		};
		try {
			const offer = await pc.createOffer();
			await pc.setLocalDescription(offer);
			this.mark('offer_sent');
			this.mode = kind;
			if (kind === 'call')
				this.send({type: 'call', sdp: offer.sdp,
					group: $('#phone-group').value || undefined});
			else
				this.send({type: 'listen', call_id: callId,
					sdp: offer.sdp});
		} catch (e) {
			this.stop(null);
			this.status('Cannot start: ' + e.message, true);
		}
		this.render();
	},

	call() {
		return this.begin('call');
	},

	microphone() {
		const aec = $('#phone-aec').checked;
		return navigator.mediaDevices.getUserMedia({audio: {
			echoCancellation: aec, noiseSuppression: aec,
			autoGainControl: aec}});
	},

	/* #phone: ask for the microphone and open the socket now, while the
	 * page checks the session (nothing is sent without one) */
	warm() {
		this.autoCall = true;
		if (!navigator.mediaDevices || !window.RTCPeerConnection)
			return;
		this.early = this.microphone();
		this.early.catch(() => {});
		this.connect();
	},

	listen(callId) {
		return this.begin('listen', callId);
	},

	hangup() {
		this.send({type: 'hangup'});
		if (this.mode === 'starting')
			this.stop(null);
	},

	setTakeover(on) {
		if (this.mode !== 'listen')
			return;
		for (const t of this.stream ? this.stream.getAudioTracks() : [])
			t.enabled = on;
		this.takeover = on;
		this.send({type: on ? 'takeover' : 'release'});
		this.render();
	},

	toggleMute() {
		this.muted = !this.muted;
		for (const t of this.stream ? this.stream.getAudioTracks() : [])
			t.enabled = !this.muted;
		this.render();
	},

	key(digit) {
		const s = this.pc && this.pc.getSenders().find((x) => x.dtmf);
		if (!s || !s.dtmf.canInsertDTMF) {
			toast('Keypad: not connected yet', true);
			return;
		}
		s.dtmf.insertDTMF(digit, 120, 80);
	},

	/* the far end's audio: an <audio> element must play it (or Chrome
	 * delivers nothing), an analyser measures it */
	play(stream) {
		const a = $('#phone-audio');
		a.srcObject = stream;
		a.play().catch(() => {});
		try {
			if (!this.audioCtx)
				this.audioCtx = new AudioContext();
			this.audioCtx.resume().catch(() => {});
			const src = this.audioCtx.createMediaStreamSource(stream);
			this.analyser = this.audioCtx.createAnalyser();
			this.analyser.fftSize = 1024;
			src.connect(this.analyser);
		} catch (e) {
			this.analyser = null;
		}
		const buf = new Float32Array(1024);
		clearInterval(this.levelTimer);
		this.levelTimer = setInterval(() => {
			if (!this.analyser)
				return;
			this.analyser.getFloatTimeDomainData(buf);
			let sum = 0;
			for (const v of buf)
				sum += v * v;
			this.level = Math.sqrt(sum / buf.length);
			if (this.level > LEVEL_FLOOR && this.firstAudioAt === null) {
				this.firstAudioAt = performance.now();
				this.mark('first_audio');
			}
			$('#phone-level').value = Math.min(1, this.level * 4);
		}, 10);
	},

	stopTracks() {
		for (const t of this.stream ? this.stream.getTracks() : [])
			t.stop();
		this.stream = null;
	},

	stop(why) {
		if (this.early && this.mode !== 'starting') {
			this.early.then((st) => st.getTracks().forEach((t) =>
				t.stop())).catch(() => {});
			this.early = null;
		}
		clearInterval(this.levelTimer);
		this.levelTimer = null;
		this.analyser = null;
		this.level = 0;
		if (this.pc) {
			this.pc.close();
			this.pc = null;
		}
		this.stopTracks();
		$('#phone-audio').srcObject = null;
		this.mode = 'idle';
		this.callId = null;
		this.takeover = false;
		this.muted = false;
		if (why)
			this.status(why, true);
		this.render();
	},
};

function phoneInit() {
	$('#phone-call').addEventListener('click', () => phone.call());
	$('#phone-hangup').addEventListener('click', () => phone.hangup());
	$('#phone-mute').addEventListener('click', () => phone.toggleMute());
	const pad = $('#phone-keypad');
	for (const d of '123456789*0#')
		pad.append(el('button', {type: 'button', dataset: {digit: d},
			'aria-label': 'Key ' + d,
			onclick: () => phone.key(d)}, d));
}

/* ------------------------------------------------------------ routing */

let currentView = null;

function route() {
	const h = decodeURIComponent(location.hash.replace(/^#/, '')) || 'live';
	let view = h.split('/')[0];
	if (!['live', 'history', 'call', 'messages', 'registrations',
		'settings'].includes(view))
		view = 'live';
	currentView = view;
	for (const s of document.querySelectorAll('.view'))
		s.hidden = s.id !== 'view-' + view;
	const navView = view === 'call' ? 'history' : view;
	for (const a of document.querySelectorAll('#nav a'))
		a.classList.toggle('active', a.dataset.view === navView);
	if (view === 'live')
		loadScheduled();
	else if (view === 'history')
		loadHistory();
	else if (view === 'call')
		loadCall(h.slice(5));
	else if (view === 'messages')
		loadMessages();
	else if (view === 'registrations')
		loadRegistrations();
	else if (view === 'settings')
		loadSettings();
}

/* ------------------------------------------------------------ startup */

async function start() {
	/* signed in?  any authenticated GET tells */
	try {
		await api('GET', '/api/registrations');
	} catch (e) {
		if (e.status !== 401)
			showSignin(e.message);
		return;
	}
	$('#signin').hidden = true;
	$('#app').hidden = false;
	running = true;
	connectEvents();
	agent.connect();
	phone.connect();
	route();
	if (currentView !== 'messages')
		countMessages();
}

function init() {
	$('#signin-form').addEventListener('submit', signIn);
	$('#signout').addEventListener('click', signOut);
	$('#dial-form').addEventListener('submit', placeCall);
	phoneInit();
	if (location.hash === '#phone')
		phone.warm();
	$('#settings-form').addEventListener('submit', saveSettings);
	$('#instructions-form').addEventListener('submit', saveInstructions);
	$('#history-refresh').addEventListener('click', loadHistory);
	$('#history-prev').addEventListener('click', () => {
		historyOffset = Math.max(0, historyOffset - PAGE);
		loadHistory();
	});
	$('#history-next').addEventListener('click', () => {
		historyOffset += PAGE;
		loadHistory();
	});
	$('#messages-refresh').addEventListener('click', loadMessages);
	$('#regs-refresh').addEventListener('click', loadRegistrations);
	$('#settings-refresh').addEventListener('click', loadSettings);
	window.addEventListener('hashchange', () => {
		if (running)
			route();
	});
	start();
}

document.addEventListener('DOMContentLoaded', init);
