// The voice recorder's audio worklet: hands each block of microphone samples (mono, at the
// AudioContext's rate, 16 kHz for Sotto's voice clips) to the page.
class PcmCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0]?.[0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("pcm-capture", PcmCapture);
