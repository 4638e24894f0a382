// Vigil's page: a session, the camera and microphone sent to it, and what the agent says.
//
// Media goes over one WebSocket as binary messages: a type byte ("V" a JPEG frame, "A" a block
// of 16 kHz 16-bit mono PCM), the capture time as a float64 in ms, then the payload (see
// service/ingest.py). Events come back over a second WebSocket as JSON.
"use strict";

const FRAMES_PER_SECOND = 2;
const AUDIO_RATE = 16000;
const AUDIO_BLOCK = 1600; // 100 ms
const AUDIO_BLOCK_PROCESSOR = 2048; // a script processor's block: a power of two, 128 ms

const $ = (id) => document.getElementById(id);
const state = { token: "", session: null, stream: null, ingest: null, events: null, media: null, timer: null, audio: null };

$("token").value = localStorage.getItem("vigil-token") || "";

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": `Bearer ${state.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail ? JSON.stringify(data.detail) : `HTTP ${response.status}`);
  return data;
}

function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}?token=${encodeURIComponent(state.token)}`;
}

function add(list, text, className) {
  const item = document.createElement("li");
  item.textContent = text;
  if (className) item.className = className;
  $(list).appendChild(item);
  $(list).scrollTop = $(list).scrollHeight;
  return item;
}

function answerItem(responseId) {
  let item = document.querySelector(`[data-response="${responseId}"]`);
  if (!item) {
    item = add("answers", "");
    item.dataset.response = responseId;
  }
  return item;
}

function onEvent(event) {
  switch (event.type) {
    case "Utterance":
      if (event.final) {
        $("partial").textContent = "";
        const item = add("transcript", "");
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = `${event.speaker || "someone"}: `;
        item.append(who, event.text);
      } else {
        $("partial").textContent = `${event.speaker || "someone"}: ${event.text}`;
      }
      break;
    case "Observation":
      $("seeing").textContent = `t=${event.media_time.toFixed(1)}s ${event.description}`;
      break;
    case "ResponseDelta":
      answerItem(event.response_id).textContent += event.text;
      break;
    case "Response": {
      const item = answerItem(event.response_id);
      item.textContent = `${event.question ? event.question + " → " : ""}${event.text}`;
      item.dataset.done = "1";
      if ($("speak").checked && "speechSynthesis" in window) {
        speechSynthesis.speak(new SpeechSynthesisUtterance(event.text));
      }
      break;
    }
    case "Clarification": {
      // the agent asks back before answering: the next question typed (or said) is the reply
      add("answers", `${event.question} (type your reply as the next question)`, "clarify");
      if ($("speak").checked && "speechSynthesis" in window) {
        speechSynthesis.speak(new SpeechSynthesisUtterance(event.question));
      }
      break;
    }
    case "Notice":
      add("notices", event.text);
      break;
    case "StreamError":
      add("notices", `${event.stage}: ${event.message}`, "error");
      break;
    case "StreamEnded":
      add("notices", `stream ended (${event.stream.state}${event.stream.error ? ": " + event.stream.error : ""})`);
      break;
    default:
      break;
  }
}

$("connect").addEventListener("click", async () => {
  state.token = $("token").value.trim();
  localStorage.setItem("vigil-token", state.token);
  try {
    state.session = (await api("POST", "/v1/sessions")).id;
  } catch (error) {
    status(`could not start a session: ${error.message}`, true);
    return;
  }
  state.events = new WebSocket(socketUrl(`/v1/sessions/${state.session}/events`));
  state.events.onmessage = (message) => onEvent(JSON.parse(message.data));
  state.events.onclose = (close) => { if (close.reason) status(close.reason, true); };
  for (const id of ["start", "question", "instruction"]) $(id).disabled = false;
  for (const button of document.querySelectorAll("form button")) button.disabled = false;
  status(`session ${state.session}`);
});

const WORKLET = `
class Blocks extends AudioWorkletProcessor {
  constructor() { super(); this.block = new Int16Array(${AUDIO_BLOCK}); this.filled = 0; }
  process(inputs) {
    const channel = inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.block[this.filled++] = s < 0 ? s * 32768 : s * 32767;
      if (this.filled === this.block.length) {
        this.port.postMessage({ block: this.block.slice(0), end: currentTime });
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("blocks", Blocks);`;

function message(kind, capturedMs, payload) {
  const bytes = new Uint8Array(9 + payload.byteLength);
  bytes[0] = kind.charCodeAt(0);
  new DataView(bytes.buffer).setFloat64(1, capturedMs, true);
  bytes.set(new Uint8Array(payload), 9);
  return bytes.buffer;
}

function send(data) {
  if (state.ingest && state.ingest.readyState === WebSocket.OPEN && state.ingest.bufferedAmount < 4e6) {
    state.ingest.send(data);
  }
}

// Calls onBlock(Int16Array, end time in context seconds) for each block of microphone audio:
// through an AudioWorklet where one loads, else a ScriptProcessorNode (deprecated, but it runs
// where worklets do not load, as in headless Chromium here).
async function audioBlocks(audio, source, onBlock) {
  try {
    const module = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error("no worklet")), 3000));
    await Promise.race([audio.audioWorklet.addModule(module), late]);
    const node = new AudioWorkletNode(audio, "blocks");
    node.port.onmessage = ({ data }) => onBlock(data.block, data.end);
    source.connect(node);
    return;
  } catch (error) {
    console.info(`audio worklet unavailable (${error.message}); using a script processor`);
  }
  const node = audio.createScriptProcessor(AUDIO_BLOCK_PROCESSOR, 1, 1);
  node.onaudioprocess = (event) => {
    const samples = event.inputBuffer.getChannelData(0);
    const block = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      block[i] = s < 0 ? s * 32768 : s * 32767;
    }
    onBlock(block, audio.currentTime);
  };
  source.connect(node);
  node.connect(audio.destination); // it runs only when connected; its output stays silent
}

async function startMedia() {
  // Created while the click still counts as a user gesture, which audio needs to start.
  state.audio = new AudioContext({ sampleRate: AUDIO_RATE });
  status("opening camera and microphone…");
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 480 },
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  state.media = media;
  $("preview").srcObject = media;
  status("starting the stream (models load)…");
  const stream = await api("POST", `/v1/sessions/${state.session}/streams`, { source: "live" });
  state.stream = stream.id;
  state.ingest = new WebSocket(socketUrl(stream.ingest));
  state.ingest.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    state.ingest.onmessage = (m) => { const e = JSON.parse(m.data); if (e.type === "ready") resolve(); else if (e.type === "error") add("notices", e.error, "error"); };
    state.ingest.onclose = (close) => reject(new Error(close.reason || "ingest closed"));
  });
  state.ingest.onmessage = (m) => { const e = JSON.parse(m.data); if (e.type === "error") add("notices", e.error, "error"); };
  status("connecting the microphone…");

  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 480;
  const context = canvas.getContext("2d");
  state.timer = setInterval(() => {
    const captured = performance.timeOrigin + performance.now();
    context.drawImage($("preview"), 0, 0, canvas.width, canvas.height);
    canvas.toBlob(async (blob) => {
      if (blob) send(message("V", captured, await blob.arrayBuffer()));
    }, "image/jpeg", 0.8);
  }, 1000 / FRAMES_PER_SECOND);

  const audio = state.audio;
  const offset = performance.timeOrigin + performance.now() - audio.currentTime * 1000;
  await audioBlocks(audio, audio.createMediaStreamSource(media), (block, end) => {
    const startMs = offset + end * 1000 - (block.length / AUDIO_RATE) * 1000;
    send(message("A", startMs, block.buffer));
  });
  $("start").disabled = true;
  $("stop").disabled = false;
  status(`session ${state.session}: live`);
}

$("start").addEventListener("click", () => startMedia().catch((error) => status(`camera or microphone: ${error.message}`, true)));

$("stop").addEventListener("click", () => {
  clearInterval(state.timer);
  if (state.audio) state.audio.close();
  if (state.media) for (const track of state.media.getTracks()) track.stop();
  if (state.ingest && state.ingest.readyState === WebSocket.OPEN) state.ingest.send(JSON.stringify({ type: "end" }));
  $("start").disabled = false;
  $("stop").disabled = true;
  status(`session ${state.session}`);
});

// A form whose one input is posted as {text} to the session's `path`; `done` tells the page.
function postForm(form, input, path, done) {
  $(form).addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $(input).value.trim();
    if (!text) return;
    try {
      await api("POST", `/v1/sessions/${state.session}/${path}`, { text });
      done(text);
      $(input).value = "";
    } catch (error) {
      add("notices", error.message, "error");
    }
  });
}

postForm("ask", "question", "questions", (text) => add("transcript", `you (typed): ${text}`));
postForm("instruct", "instruction", "instructions", (text) => add("notices", `instruction added: ${text}`));
