// Recording voice clips: the microphone at 16 kHz mono (the rate of the project's one voice
// format), captured by an audio worklet. The samples become a clip in the messenger's
// worker (`encodeVoiceClip`), so a clip recorded here plays in the desktop app and the CLI.

/** The rate `encodeVoiceClip` takes. */
const RATE = 16_000;
/** The longest clip (the core's voice::MAX_DURATION_MS). */
export const MAX_RECORDING_MS = 30 * 60 * 1000;

/** A recording in progress. */
export class Recording {
  #context: AudioContext;
  #stream: MediaStream;
  #blocks: Float32Array[] = [];
  #samples = 0;
  /** Called with the recorded length as it grows. */
  onProgress: (ms: number) => void = () => {};

  private constructor(context: AudioContext, stream: MediaStream) {
    this.#context = context;
    this.#stream = stream;
  }

  /** Asks for the microphone and starts recording. */
  static async start(): Promise<Recording> {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    const context = new AudioContext({ sampleRate: RATE });
    try {
      await context.audioWorklet.addModule(new URL("pcm-capture.js", document.baseURI));
      const recording = new Recording(context, stream);
      const node = new AudioWorkletNode(context, "pcm-capture");
      node.port.onmessage = ({ data }: MessageEvent<Float32Array>) => recording.#take(data);
      context.createMediaStreamSource(stream).connect(node);
      return recording;
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      await context.close();
      throw error;
    }
  }

  #take(block: Float32Array) {
    if ((this.#samples / RATE) * 1000 >= MAX_RECORDING_MS) return;
    this.#blocks.push(block);
    this.#samples += block.length;
    this.onProgress((this.#samples / RATE) * 1000);
  }

  /** Stops the microphone; the recording as 16-bit PCM. */
  async stop(): Promise<Int16Array> {
    this.#stream.getTracks().forEach((track) => track.stop());
    await this.#context.close();
    const pcm = new Int16Array(this.#samples);
    let at = 0;
    for (const block of this.#blocks) {
      for (const sample of block) pcm[at++] = Math.max(-1, Math.min(1, sample)) * 0x7fff;
    }
    return pcm;
  }

  /** Stops the microphone and drops the recording. */
  async cancel(): Promise<void> {
    this.#stream.getTracks().forEach((track) => track.stop());
    await this.#context.close();
  }
}
