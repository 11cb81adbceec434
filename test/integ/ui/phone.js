#!/usr/bin/env node
/*
 * phone.js  Drives the control centre's softphone in headless Chromium
 *           (Debian's /usr/bin/chromium through playwright-core) for
 *           test_webrtc_phone.py, with a fake microphone playing a WAV.
 *
 * usage: node phone.js PLAYWRIGHT_CORE_DIR BASE_URL TOKEN MODE MIC_WAV
 *                      [RUNS]
 *
 * MODE call:   signs in; RUNS times loads /#phone (the page calls the agent
 *              at once) and measures page load -> first agent audio (the
 *              WebAudio analyser's RMS above a floor), hanging up from the
 *              page after each; then one call that stays up: presses keys
 *              1 2 3 # on the keypad, says {"step":"in_call"} and waits for
 *              the daemon to end it (the test hangs up through the API).
 * MODE listen: signs in, says {"step":"signed_in"}, waits for an answered
 *              live call, listens in (measuring what it hears), takes it
 *              over for TAKEOVER_MS, releases, stops listening.
 *
 * MODE badfp: signs in, makes the page's WebSocket send its offer with a
 *              wrong a=fingerprint, calls: DTLS must fail and the call end
 *              (the page goes idle; its status line is reported).
 *
 * Prints one JSON object per line: {"step":..., ...}; the last is
 * {"step":"done", ...} or {"step":"error", ...}.
 */
'use strict';

const path = require('path');
const fs = require('fs');
const os = require('os');

const [pwDir, base, token, mode, micWav, runsArg] = process.argv.slice(2);
const {chromium} = require(path.resolve(pwDir));
const RUNS = parseInt(runsArg || '5', 10);
const TAKEOVER_MS = 14000;

function say(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function signIn(page) {
	await page.goto(base + '/');
	await page.waitForSelector('#signin-form', {state: 'visible'});
	await page.fill('#token', token);
	await page.click('#signin-form button');
	await page.waitForSelector('#app', {state: 'visible'});
	await page.waitForSelector('#phone', {state: 'visible'});
	await page.waitForSelector('#conn.up');
}

/* the analyser's level every 50 ms for ms: [max, mean] */
async function listenLevel(page, ms) {
	let max = 0, sum = 0, n = 0;
	for (let t = 0; t < ms; t += 50) {
		const v = await page.evaluate(() => phone.level);
		max = Math.max(max, v);
		sum += v;
		n++;
		await sleep(50);
	}
	return [max, n ? sum / n : 0];
}

async function phoneState(page) {
	return page.evaluate(() => ({mode: phone.mode, callId: phone.callId,
		status: document.querySelector('#phone-status').textContent,
		first: phone.firstAudioAt, level: phone.level}));
}

async function runCall(page, result) {
	/* page load -> first agent audio, RUNS times */
	result.first_audio_ms = [];
	result.page_hangups = [];
	for (let i = 0; i < RUNS; i++) {
		await page.goto('about:blank');
		await page.goto(base + '/#phone');
		await page.waitForFunction(() => typeof phone !== 'undefined' &&
			phone.firstAudioAt !== null, null, {timeout: 20000});
		const st = await phoneState(page);
		result.first_audio_ms.push(Math.round(st.first));
		const marks = await page.evaluate(() => Object.assign({
			dom: Math.round(performance.getEntriesByType('navigation')[0]
				.domContentLoadedEventEnd)}, phone.marks));
		say({step: 'first_audio', run: i, ms: Math.round(st.first),
			call: st.callId, marks});
		/* hang up from the page */
		await page.click('#phone-hangup');
		await page.waitForFunction(() => phone.mode === 'idle',
			null, {timeout: 10000});
		result.page_hangups.push({call: st.callId,
			status: (await phoneState(page)).status});
	}

	/* the call that stays up: talk, keys, then the daemon hangs up */
	await page.goto('about:blank');
	await page.goto(base + '/');
	await page.waitForSelector('#phone', {state: 'visible'});
	await page.selectOption('#phone-group', {index: 0}).catch(() => {});
	result.groups = await page.evaluate(() =>
		Array.from(document.querySelectorAll('#phone-group option'))
			.map((o) => o.value));
	result.group = await page.evaluate(() =>
		document.querySelector('#phone-group').value);
	await page.click('#phone-call');
	await page.waitForFunction(() => phone.mode === 'call' &&
		phone.callId && phone.firstAudioAt !== null, null,
		{timeout: 20000});
	const st = await phoneState(page);
	result.call = st.callId;
	[result.greeting_level_max] = await listenLevel(page, 1500);
	/* the microphone file has the sentence after 1 s; let it be heard
	 * (it loops) before the keys */
	await sleep(6000);
	for (const d of ['1', '2', '3', '#']) {
		await page.click(`#phone-keypad button[data-digit="${d}"]`);
		await sleep(300);
	}
	/* mute: nothing of ours goes out for a while (the microphone file
	 * says its sentence every ~6 s) */
	await page.click('#phone-mute');
	result.muted_label = await page.textContent('#phone-mute');
	result.muted_at = Date.now();
	await sleep(7000);
	await page.click('#phone-mute');
	result.unmuted_at = Date.now();
	say({step: 'in_call', call: result.call, muted_at: result.muted_at,
		unmuted_at: result.unmuted_at});
	await page.waitForFunction(() => phone.mode === 'idle', null,
		{timeout: 60000});
	result.daemon_hangup_status = (await phoneState(page)).status;
}

async function runListen(page, result) {
	/* an answered live call with a Listen button */
	const btn = await page.waitForSelector(
		'article.call[data-call] button.listen:not([hidden])',
		{timeout: 60000});
	result.call = await btn.evaluate((b) =>
		b.closest('article.call').dataset.call);
	const sel = `article.call[data-call="${result.call}"]`;
	await btn.click();
	await page.waitForFunction(() => phone.mode === 'listen' &&
		phone.firstAudioAt !== null, null, {timeout: 20000});
	[result.listen_level_max, result.listen_level_mean] =
		await listenLevel(page, 3000);
	say({step: 'listening', call: result.call,
		level: result.listen_level_max});

	await page.click(`${sel} button.talk`);
	result.talk_label = await page.textContent(`${sel} button.talk`);
	say({step: 'takeover', call: result.call, t: Date.now()});
	[result.takeover_level_max] = await listenLevel(page, TAKEOVER_MS);
	await page.click(`${sel} button.talk`);
	say({step: 'released', call: result.call, t: Date.now()});
	await sleep(9000);
	await page.click(`${sel} button.listen`);
	await page.waitForFunction(() => phone.mode === 'idle', null,
		{timeout: 10000});
	result.stop_status = (await phoneState(page)).status;
}

async function runBadFingerprint(page, result) {
	await page.evaluate(() => {
		const send = WebSocket.prototype.send;
		WebSocket.prototype.send = function (data) {
			if (typeof data === 'string' && data.includes('"call"')) {
				data = data.replace(
					/(a=fingerprint:sha-256 )([0-9A-F]{2})/,
					(m, a, b) => a + (b === '00' ? '11' : '00'));
				/* the call may end before any poll sees it up */
				this.addEventListener('message', (e) => {
					let m;
					try { m = JSON.parse(e.data); } catch (x) {
						return;
					}
					if (m.type === 'answer')
						window.badfpCall = m.call_id;
					if (m.type === 'ended')
						window.badfpEnded = m.reason;
				});
			}
			return send.call(this, data);
		};
	});
	await page.click('#phone-call');
	await page.waitForFunction(() => window.badfpEnded !== undefined,
		null, {timeout: 30000});
	result.call = await page.evaluate(() => window.badfpCall);
	result.ended_reason = await page.evaluate(() => window.badfpEnded);
	say({step: 'calling', call: result.call});
	await page.waitForFunction(() => phone.mode === 'idle', null,
		{timeout: 30000});
	result.status = (await phoneState(page)).status;
	result.first_audio = await page.evaluate(() => phone.firstAudioAt);
}

async function main() {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'phone-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync',
			'--use-fake-ui-for-media-stream',
			'--use-fake-device-for-media-stream',
			'--use-file-for-fake-audio-capture=' + micWav,
			'--autoplay-policy=no-user-gesture-required'],
	});
	const result = {step: 'done', mode, console_errors: []};
	try {
		const page = ctx.pages()[0] || await ctx.newPage();
		page.on('console', (m) => {
			if (m.type() === 'error')
				result.console_errors.push(m.text());
		});
		page.on('pageerror', (e) =>
			result.console_errors.push('pageerror: ' + e.message));
		page.setDefaultTimeout(20000);
		await signIn(page);
		say({step: 'signed_in'});
		if (mode === 'call')
			await runCall(page, result);
		else if (mode === 'badfp')
			await runBadFingerprint(page, result);
		else
			await runListen(page, result);
		say(result);
	} catch (e) {
		say({step: 'error', message: String(e && e.stack || e),
			partial: result});
	} finally {
		await ctx.close().catch(() => {});
		fs.rmSync(profile, {recursive: true, force: true});
	}
}

main();
