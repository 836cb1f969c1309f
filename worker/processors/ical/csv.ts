/**
 * A small RFC 4180 CSV reader: comma-separated fields, double-quoted fields that may hold commas,
 * quotes (doubled) and line breaks. Records end at CRLF, LF or a lone CR, because files arrive
 * from every platform. It is strict where leniency would silently shift data: a stray quote
 * inside an unquoted field, text after a closing quote and an unclosed quote are errors.
 */

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts (records with quoted line breaks span several). */
  line: number;
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`CSV line ${line}: ${detail}`);
    this.name = 'CsvSyntaxError';
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  // After a closing quote only a separator or a record end may follow.
  let fieldWasQuoted = false;

  const endField = () => {
    fields.push(field);
    field = '';
    fieldWasQuoted = false;
  };
  const endRecord = () => {
    endField();
    records.push({ fields, line: recordLine });
    fields = [];
  };

  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      if (field !== '' || fieldWasQuoted) {
        throw new CsvSyntaxError(line, 'a quote inside an unquoted field; quote the whole field and double the quotes inside it');
      }
      const opened = line;
      i += 1;
      for (;;) {
        if (i >= text.length) throw new CsvSyntaxError(opened, 'a quoted field is never closed');
        const inner = text[i]!;
        if (inner === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        if (inner === '\n' || (inner === '\r' && text[i + 1] !== '\n')) line += 1;
        field += inner;
        i += 1;
      }
      fieldWasQuoted = true;
      continue;
    }
    if (char === ',') {
      endField();
      i += 1;
      continue;
    }
    if (char === '\r' || char === '\n') {
      endRecord();
      i += char === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      recordLine = line;
      continue;
    }
    if (fieldWasQuoted) {
      throw new CsvSyntaxError(line, 'text after a closing quote; a quoted field must end at a comma or the end of the line');
    }
    field += char;
    i += 1;
  }
  // The last record needs no trailing line break.
  if (field !== '' || fieldWasQuoted || fields.length > 0) endRecord();
  return records;
}

/** A record that is one empty field: a blank line, which spreadsheets leave at the end. */
export function isBlankRecord(record: CsvRecord): boolean {
  return record.fields.length === 1 && record.fields[0] === '';
}
