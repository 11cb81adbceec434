// integ.webrtc_sdp_chrome: headless Chromium makes a WebRTC offer with an
// audio track (an oscillator) and a video transceiver, sent without
// waiting for ICE gathering; agentline's media stream answers it
// (wrtc-answer). Prints one JSON line: whether the answer was accepted,
// the connection state, audio packets each way, the audio codec and the
// transceivers' directions.
// Usage: node sdp_chrome.js PLAYWRIGHT_CORE_DIR OFFER_FILE ANSWER_FILE
const path = require('path');
const fs = require('fs');
const os = require('os');
const {chromium} = require(path.resolve(process.argv[2]));
const offerFile = process.argv[3], answerFile = process.argv[4];

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentline-sdpchrome-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--autoplay-policy=no-user-gesture-required']});
  const page = await ctx.newPage();
  await page.goto('about:blank');
  const offer = await page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    const ac = new AudioContext();
    const osc = ac.createOscillator();
    const dst = ac.createMediaStreamDestination();
    osc.frequency.value = 700;
    osc.connect(dst);
    osc.start();
    dst.stream.getTracks().forEach(t => pc.addTrack(t, dst.stream));
    pc.addTransceiver('video', {direction: 'sendrecv'});
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    return pc.localDescription.sdp;
  });
  fs.writeFileSync(offerFile + '.tmp', offer);
  fs.renameSync(offerFile + '.tmp', offerFile);
  const t0 = Date.now();
  while (!fs.existsSync(answerFile) && Date.now() - t0 < 20000)
    await new Promise(r => setTimeout(r, 50));
  const answer = fs.readFileSync(answerFile, 'utf8');
  const res = await page.evaluate(async (sdp) => {
    const out = {accepted: true, error: ''};
    try {
      await pc.setRemoteDescription({type: 'answer', sdp});
    } catch (e) {
      out.accepted = false;
      out.error = String(e);
      return out;
    }
    const t1 = Date.now();
    while (pc.connectionState !== 'connected' && Date.now() - t1 < 8000)
      await new Promise(r => setTimeout(r, 20));
    out.state = pc.connectionState;
    out.connect_ms = Date.now() - t1;
    await new Promise(r => setTimeout(r, 3000));
    const st = await pc.getStats();
    out.audio_in = 0; out.audio_out = 0; out.codecs = [];
    st.forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio')
        out.audio_in = r.packetsReceived;
      if (r.type === 'outbound-rtp' && r.kind === 'audio')
        out.audio_out = r.packetsSent;
      if (r.type === 'codec' && r.mimeType.startsWith('audio'))
        out.codecs.push(r.mimeType);
    });
    out.transceivers = pc.getTransceivers().map(
      t => ({mid: t.mid, kind: t.receiver.track.kind,
             dir: t.currentDirection}));
    return out;
  }, answer);
  console.log(JSON.stringify(res));
  await ctx.close();
})().catch(e => { console.error(e); process.exit(1); });
