/**
 * `scripts/run tsx scripts/sounds.ts`: writes the call's sounds (widget/sounds/*.wav, shipped as
 * files and served beside the widget): soft two-note chimes for someone joining (rising) and
 * leaving (falling), one bright note for a raised hand. Synthesised here so their making is in the
 * repository; run again only to change them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from './stack/layout.ts';

const RATE = 22_050;

/** A note: a sine with a quieter octave, a quick attack and an exponential fade. */
function note(freq: number, seconds: number, start: number, out: Float32Array): void {
  const from = Math.round(start * RATE);
  const len = Math.round(seconds * RATE);
  for (let i = 0; i < len && from + i < out.length; i++) {
    const t = i / RATE;
    const envelope = Math.min(1, t / 0.008) * Math.exp(-t * 9);
    const wave = Math.sin(2 * Math.PI * freq * t) + 0.25 * Math.sin(4 * Math.PI * freq * t);
    out[from + i] = (out[from + i] ?? 0) + 0.3 * envelope * wave;
  }
}

function wav(samples: Float32Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32_767), i * 2));
  const head = Buffer.alloc(44);
  head.write('RIFF', 0);
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVE', 8);
  head.write('fmt ', 12);
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20); // PCM
  head.writeUInt16LE(1, 22); // mono
  head.writeUInt32LE(RATE, 24);
  head.writeUInt32LE(RATE * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36);
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

const sounds: Record<string, [number, number][]> = {
  join: [
    [659.25, 0],
    [880, 0.12],
  ],
  leave: [
    [880, 0],
    [659.25, 0.12],
  ],
  hand: [[1046.5, 0]],
};

for (const [name, notes] of Object.entries(sounds)) {
  const out = new Float32Array(Math.round(0.45 * RATE));
  for (const [freq, at] of notes) note(freq, 0.45 - at, at, out);
  writeFileSync(join(repoRoot, 'widget', 'sounds', `${name}.wav`), wav(out));
}
