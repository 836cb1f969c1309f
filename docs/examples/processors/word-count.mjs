// An example of your own processor: counts the words of a text file (or of the `text` field) and
// writes the ten most frequent words as a CSV artifact. Run it with
//   PROCESSORS_DIR=docs/examples/processors npm start
// and pick "word-count" in the form, or:
//   curl -F processor=word-count -F file=@README.md http://127.0.0.1:5000/prediction/uploader
import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';

/** @type {import('../../../shared/processor.js').Processor} */
export default {
  name: 'word-count',
  version: '1.0.0',
  description: 'Counts the words of a text file or of the text field; the top words come back as a CSV file too.',
  fields: Type.Object({
    text: Type.Optional(Type.String({ maxLength: 65536, description: 'Text to count, if you send no file' })),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'How many top words to list' })),
  }),
  files: { accept: ['text/plain'], minCount: 0, maxCount: 1, maxBytes: 10 * 1024 * 1024 },

  async run(input, ctx) {
    const file = input.files[0];
    const text = file ? await readFile(ctx.filePath(file), 'utf8') : String(input.fields.text ?? '');
    const words = text.toLowerCase().match(/\p{L}[\p{L}\p{N}'-]*/gu) ?? [];
    const counts = new Map();
    for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, Number(input.fields.top ?? 10));
    ctx.progress(1, 'counted');
    await ctx.artifacts.write('top-words.csv', ['word,count', ...top.map(([w, c]) => `${w},${c}`)].join('\n') + '\n', 'text/csv');
    return { words: words.length, distinct: counts.size, lines: text.split('\n').length, top: top.map(([word, count]) => ({ word, count })) };
  },
};
