#!/usr/bin/env node
/*
 * drive.js  Drives the control centre in headless Chromium (Debian's
 *           /usr/bin/chromium through playwright-core) for test_ui.py.
 *
 * usage: node drive.js PLAYWRIGHT_CORE_DIR BASE_URL TOKEN OUTDIR [REG_URL]
 *
 * REG_URL: a second agentline (same token) whose registrations are shown.
 *
 * Prints one JSON object per line on stdout: {"step":..., ...}.  The
 * Python side waits for {"step":"signed_in"} before it places the call,
 * and reads the final {"step":"done", ...} (or {"step":"error", ...}).
 * Screenshots go to OUTDIR.
 */
'use strict';

const path = require('path');
const fs = require('fs');
const os = require('os');

const [pwDir, base, token, outDir, regBase] = process.argv.slice(2);
const {chromium} = require(path.resolve(pwDir));

const LAPTOP = {width: 1280, height: 860};
const PHONE = {width: 390, height: 844};

function say(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

async function shot(page, name, size) {
	await page.setViewportSize(size);
	await page.waitForTimeout(150);     /* layout settles */
	const file = path.join(outDir, name + '.png');
	await page.screenshot({path: file, fullPage: true});
	/* the page must fit the width: nothing wider than the viewport */
	const overflow = await page.evaluate(() =>
		document.documentElement.scrollWidth - window.innerWidth);
	say({step: 'screenshot', file, width: size.width, overflow});
	return overflow;
}

async function main() {
	fs.mkdirSync(outDir, {recursive: true});
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		viewport: LAPTOP,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	const result = {step: 'done', console_errors: []};
	try {
		const page = ctx.pages()[0] || await ctx.newPage();
		page.on('console', (m) => {
			if (m.type() === 'error')
				result.console_errors.push(m.text());
		});
		page.on('pageerror', (e) =>
			result.console_errors.push('pageerror: ' + e.message));
		page.setDefaultTimeout(20000);

		await page.goto(base + '/');
		await page.waitForSelector('#signin-form', {state: 'visible'});
		await shot(page, 'signin-1280', LAPTOP);

		/* a wrong token is refused with a message */
		await page.fill('#token', 'not-the-token-0000000000');
		await page.click('#signin-form button');
		await page.waitForFunction(() =>
			document.querySelector('#signin-error').textContent.length > 0);
		result.wrong_token_message =
			await page.textContent('#signin-error');
		result.app_hidden_after_wrong = await page.isHidden('#app');

		await page.fill('#token', token);
		await page.click('#signin-form button');
		await page.waitForSelector('#app', {state: 'visible'});
		await page.waitForSelector('#conn.up');
		say({step: 'signed_in'});

		/* the call: a card with the caller's words in its transcript */
		const card = await page.waitForSelector(
			'article.call[data-call] .line.caller', {timeout: 60000});
		const callEl = await card.evaluateHandle((e) =>
			e.closest('article.call'));
		result.call = await callEl.evaluate((e) => e.dataset.call);
		/* let a reply and its timings arrive too */
		await page.waitForSelector(
			`article.call[data-call="${result.call}"] .timings`,
			{timeout: 30000}).catch(() => {});
		result.live_transcript = await callEl.evaluate((e) =>
			Array.from(e.querySelectorAll('.line.caller'))
				.map((l) => l.lastChild.textContent));
		result.live_replies = await callEl.evaluate((e) =>
			Array.from(e.querySelectorAll('.line.agent'))
				.map((l) => l.lastChild.textContent));
		result.live_badges = await callEl.evaluate((e) =>
			Array.from(e.querySelectorAll('.badge'))
				.map((b) => b.textContent));
		result.live_timings = await callEl.evaluate((e) =>
			Array.from(e.querySelectorAll('.timings'))
				.map((b) => b.textContent));
		say({step: 'transcript', call: result.call,
			text: result.live_transcript});
		result.overflow = {};
		result.overflow.live_1280 = await shot(page, 'live-1280', LAPTOP);
		result.overflow.live_390 = await shot(page, 'live-390', PHONE);
		await page.setViewportSize(LAPTOP);

		const sel = `article.call[data-call="${result.call}"]`;

		/* say: the API accepts it and the card shows it */
		await page.fill(`${sel} form.say input`, 'Please hold on.');
		await page.click(`${sel} form.say button`);
		result.said = await page.waitForSelector(
			`${sel} .line.agent >> text=Please hold on.`,
			{timeout: 5000}).then(() => true, () => false);

		/* a fact for the agent, from the card's "More" */
		await page.click(`${sel} details.more summary`);
		await page.fill(`${sel} form.context input`, 'Order 1234 shipped');
		await page.click(`${sel} form.context button`);
		await page.waitForSelector(`${sel} .line.sys >> text=Order 1234`,
			{timeout: 5000}).catch(() => {});
		result.context = await page.evaluate(async (id) =>
			(await (await fetch(`/api/calls/${id}/context`)).json()).context,
			result.call);
		await page.click(`${sel} details.more summary`);

		/* take over (when the server offers the agent socket): the next
		 * caller turn waits for a typed reply, which is spoken */
		if (await page.isVisible(`${sel} button.takeover`)) {
			await page.click(`${sel} button.takeover`);
			await page.waitForSelector(`${sel} .badge.takeover`);
			say({step: 'taken_over'});
			const input = `${sel} .takeover-box input:not([disabled])`;
			await page.waitForSelector(input, {timeout: 30000});
			/* markup in it must come back as text, never as HTML */
			result.takeover_reply = 'Operator <b>here</b>, ' +
				'<img src=x class=xss> how can I help?';
			await page.fill(input, result.takeover_reply);
			await page.click(`${sel} .takeover-box button`);
			await page.waitForFunction((r) => Array.from(
				document.querySelectorAll('.line.agent')).some((l) =>
				l.lastChild.textContent === r), result.takeover_reply);
			result.overflow.takeover_1280 = await shot(page,
				'takeover-1280', LAPTOP);
			result.overflow.takeover_390 = await shot(page,
				'takeover-390', PHONE);
			await page.setViewportSize(LAPTOP);
			/* the reply is spoken before the hang-up */
			await page.waitForTimeout(2500);
		}

		/* hang up from the page: two clicks (arm, confirm) */
		await page.click(`${sel} button.danger`);
		await page.click(`${sel} button.danger.armed`);
		say({step: 'hangup_clicked'});
		await page.waitForSelector(`${sel}.ended`, {timeout: 15000});
		result.ended_badge = await page.textContent(`${sel} .badge.ended`);
		say({step: 'ended', badge: result.ended_badge});
		await shot(page, 'ended-1280', LAPTOP);

		/* its history entry */
		await page.click(`${sel} a[href^="#call/"]`);
		await page.waitForSelector('#view-call:not([hidden]) table');
		await page.waitForFunction(() => !/live now/.test(
			document.querySelector('#call-detail').textContent),
			null, {timeout: 10000}).catch(() => {});
		result.history_url = page.url();
		result.history_title = await page.textContent('#call-title');
		result.history_turns = await page.$$eval(
			'#call-detail table tbody tr', (rows) => rows.map((r) =>
				Array.from(r.cells).map((c) => c.lastChild ?
					c.lastChild.textContent : '')));
		result.markup_elements = await page.$$eval(
			'img.xss, .transcript b, #call-detail b', (e) => e.length);
		result.history_facts = await page.$$eval('#call-detail .fact',
			(fs) => Object.fromEntries(fs.map((f) => [
				f.querySelector('dt').textContent,
				f.querySelector('dd').textContent])));
		result.overflow.call_1280 = await shot(page, 'call-1280', LAPTOP);
		result.overflow.call_390 = await shot(page, 'call-390', PHONE);

		/* the list, and the other views render without errors */
		await page.setViewportSize(LAPTOP);
		await page.click('#nav a[data-view="history"]');
		await page.waitForSelector('#history-list table');
		result.history_rows = await page.$$eval('#history-list tbody tr',
			(rows) => rows.length);
		result.overflow.history_1280 = await shot(page, 'history-1280',
			LAPTOP);
		result.overflow.history_390 = await shot(page, 'history-390',
			PHONE);
		/* the messages inbox: a stored message (test_ui.py put it in the
		 * database) with markup in its caller-controlled fields */
		await page.goto(base + '/#messages');
		const msg = '#messages-list article.message';
		await page.waitForSelector(msg);
		result.message = await page.$eval(msg, (m) => ({
			name: m.querySelector('.call-who').textContent,
			text: m.querySelector('.text').textContent,
			tel: (m.querySelector('a[href^="tel:"]') || {}).href || null,
			markup: m.querySelectorAll('i, script').length,
			unread: m.classList.contains('unread'),
		}));
		/* the audio: a player, or where the file is kept */
		await page.waitForFunction((sel) => {
			const m = document.querySelector(sel);
			const note = m.querySelector('p.muted');
			const a = m.querySelector('audio');
			return (note && !note.hidden) || (a && a.readyState > 0);
		}, msg, {timeout: 10000}).catch(() => {});
		result.message.audio = await page.$eval(msg, (m) => {
			const note = m.querySelector('p.muted');
			return note && !note.hidden ? note.textContent : 'player';
		});
		result.overflow.message_1280 = await shot(page, 'message-1280',
			LAPTOP);
		result.overflow.message_390 = await shot(page, 'message-390',
			PHONE);
		await page.setViewportSize(LAPTOP);
		await page.click(`${msg} button.danger`);
		await page.click(`${msg} button.danger.armed`);
		await page.waitForSelector(msg, {state: 'detached'});
		result.message_deleted = true;

		for (const v of ['messages', 'registrations', 'settings']) {
			await page.setViewportSize(LAPTOP);
			await page.goto(base + '/#' + v);
			await page.waitForSelector(`#view-${v}:not([hidden])`);
			await page.waitForTimeout(400);
			result.overflow[v + '_1280'] = await shot(page, v + '-1280',
				LAPTOP);
			result.overflow[v + '_390'] = await shot(page, v + '-390',
				PHONE);
		}
		result.settings_runtime = await page.$$eval(
			'#settings-runtime input', (i) => i.length);

		/* a bad value is refused with the API's reason; a good one saved */
		await page.setViewportSize(LAPTOP);
		const note = '#settings-form .form-note';
		await page.fill('#settings-runtime input[name="max_calls"]', 'lots');
		await page.click('#settings-form button');
		await page.waitForSelector(`${note}.bad`);
		result.settings_bad = await page.textContent(note);
		await page.click('#settings-refresh');
		await page.waitForFunction(() => !document.querySelector(
			'#settings-runtime input.dirty'));
		await page.fill('#settings-runtime input[name="ring_timeout_secs"]',
			'45');
		await page.click('#settings-form button');
		await page.waitForFunction((n) => /Saved/.test(
			document.querySelector(n).textContent), note);
		result.settings_saved = await page.textContent(note);

		/* a scheduled call: listed on the live page, cancelled there */
		await page.setViewportSize(LAPTOP);
		await page.goto(base + '/#live');
		await page.click('details.dial summary');
		await page.fill('#dial-form input[name="number"]', '1234');
		await page.fill('#dial-form textarea[name="objective"]',
			'Ask for the opening hours');
		await page.fill('#dial-form input[name="at"]', '2031-05-04T09:30');
		await page.click('#dial-form button');
		await page.waitForSelector('#scheduled:not([hidden]) table');
		result.scheduled_rows = await page.$$eval('#scheduled tbody tr',
			(rows) => rows.map((r) => Array.from(r.cells).map((c) =>
				c.textContent)));
		result.overflow.scheduled_390 = await shot(page, 'scheduled-390',
			PHONE);
		await page.setViewportSize(LAPTOP);
		await page.click('#scheduled button.danger');
		await page.click('#scheduled button.danger.armed');
		await page.waitForSelector('#scheduled', {state: 'hidden'});
		result.scheduled_cancelled = true;

		/* sign out: back to the sign-in form, the API refuses again */
		await page.setViewportSize(LAPTOP);
		await page.click('#signout');
		await page.waitForSelector('#signin-form', {state: 'visible'});
		result.after_signout_status = await page.evaluate(async () =>
			(await fetch('/api/calls')).status);

		/* registrations of the second agentline */
		if (regBase) {
			await page.goto(regBase + '/#registrations');
			await page.fill('#token', token);
			await page.click('#signin-form button');
			await page.waitForSelector('#regs-list table');
			result.registrations = await page.$$eval(
				'#regs-list tbody tr', (rows) => rows.map((r) =>
					Array.from(r.cells).map((c) => c.textContent)));
			result.overflow.registrations_1280 = await shot(page,
				'registrations-1280', LAPTOP);
			result.overflow.registrations_390 = await shot(page,
				'registrations-390', PHONE);
		}
		say(result);
	} finally {
		await ctx.close();
		fs.rmSync(profile, {recursive: true, force: true});
	}
}

main().catch((e) => {
	say({step: 'error', message: String(e && e.stack || e)});
	process.exit(1);
});
