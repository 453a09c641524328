/**
 * Files a person sends are saved in the project's uploads/ folder, which a model may have filled
 * with links, files in the way and folders swapped while the worker writes. Real folders, real
 * links, a real FIFO and a real process swapping folders; the secret lives outside /tmp, where the
 * worker's own files would be.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  MAX_UPLOAD_NAME_BYTES,
  UPLOADS_DIR,
  UploadsRefusedError,
  readProjectImage,
  reserveUploadPath,
  uploadBaseName,
  uploadsBytes,
  writeUpload,
} from '../../src/workspace/uploads';
import { listFolderInside, makeFolderInside, openInside } from '../../src/workspace/safe-fs';
import { tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const SECRET = 'TOKEN=the-secret-of-the-worker\n';
/** 17 May 2024, late in the evening UTC: the name's date is the UTC day whatever the local zone. */
const DATE = Date.UTC(2024, 4, 17, 23, 30);
const DAY = '2024-05-17';

interface World {
  root: string;
  /** A folder outside the project and outside /tmp, holding notes.txt with the secret. */
  outside: string;
  uploads: string;
}

function world(): World {
  const root = path.join(dirs.make(), 'project');
  fs.mkdirSync(root);
  const outside = dirs.make('autonous-uploads-', '/var/tmp');
  fs.writeFileSync(path.join(outside, 'notes.txt'), SECRET);
  return { root, outside, uploads: path.join(root, UPLOADS_DIR) };
}

/** Every entry below `dir` with its content (a link's target), to prove nothing changed there. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    const stat = fs.lstatSync(file);
    out[name] = stat.isSymbolicLink()
      ? `-> ${fs.readlinkSync(file)}`
      : stat.isFile()
        ? fs.readFileSync(file, 'utf8')
        : '/';
  }
  return out;
}

/** Reserves a name for `fileName` and writes `content` there; the path it went to. */
async function upload(root: string, fileName: string, content: string): Promise<string> {
  const relPath = await reserveUploadPath(root, uploadBaseName({ fileName, kind: 'document', date: DATE }));
  expect(await writeUpload(root, relPath, Buffer.from(content))).toBe('written');
  return relPath;
}

describe('uploadBaseName', () => {
  // guards: only the last component of the sender's name, invisible characters removed, only
  // letters, digits, . _ - kept, no leading dot or dash
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\x', 'x'],
    ['C:\\Users\\me\\report.pdf', 'report.pdf'],
    ['.bashrc', 'bashrc'],
    ['..', 'document'],
    ['--help.txt', 'help.txt'],
    ['-.-.-x', 'x'],
    // right-to-left override: shown as "invoicefdp.exe" reversed to look like a PDF
    ['invoice\u202Eexe.pdf', 'invoiceexe.pdf'],
    ['in\u200Bvo\u200Dice\uFEFF.pdf', 'invoice.pdf'],
    ['\u2066a\u2069b\u200E.txt', 'ab.txt'],
    ['line\nbreak\t\u0000.txt', 'linebreak.txt'],
    ['my photo (1).jpg', 'my-photo-1-.jpg'],
    ['a  --  b.txt', 'a-b.txt'],
    ['Re\u0301sume\u0301.pdf', 'R\u00e9sum\u00e9.pdf'],
    ['отчёт 2024.txt', 'отчёт-2024.txt'],
    ['नमस्ते.txt', 'नमस्ते.txt'],
    ['dir/', 'document'],
    ['', 'document'],
    ['\u200B\u202E', 'document'],
  ])('%j becomes %j', (fileName, safe) => {
    expect(uploadBaseName({ fileName, kind: 'document', date: DATE })).toBe(`${DAY}-${safe}`);
  });

  // guard: the byte cap, cut between characters, keeping the extension
  it.each([
    ['ASCII', 'a'.repeat(296) + '.pdf', '.pdf'],
    ['two-byte letters', '\u00e9'.repeat(148) + '.txt', '.txt'],
    ['four-byte letters', '\u{20000}'.repeat(74) + '.png', '.png'],
    ['an ending too long for an extension', 'x.' + 'y'.repeat(298), 'y'],
  ])('a 300-byte name of %s is cut to at most 100 bytes of whole characters', (_what, fileName, ending) => {
    expect(Buffer.byteLength(fileName)).toBe(300);
    const name = uploadBaseName({ fileName, kind: 'document', date: DATE });
    const safe = name.slice(`${DAY}-`.length);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_UPLOAD_NAME_BYTES);
    expect(Buffer.byteLength(safe)).toBeGreaterThan(MAX_UPLOAD_NAME_BYTES - 4);
    expect(Buffer.from(safe).toString('utf8')).toBe(safe);
    expect(safe.endsWith(ending)).toBe(true);
  });

  it.each([
    ['photo', null, 'photo.jpg'],
    ['voice', 'audio/ogg', 'voice.ogg'],
    ['video_note', null, 'video-note.mp4'],
    ['audio', 'audio/mpeg', 'audio.mp3'],
    ['video', 'video/mp4', 'video.mp4'],
    ['document', 'application/pdf', 'document.pdf'],
    ['document', 'Text/Plain; charset=utf-8', 'document.txt'],
    ['document', 'application/x-unknown', 'document'],
    ['document', 'constructor', 'document'],
    ['constructor', undefined, 'document'],
  ])('without a file name, a %s of type %j is named %j', (kind, mimeType, name) => {
    expect(uploadBaseName({ kind, mimeType, date: DATE })).toBe(`${DAY}-${name}`);
  });

  it('dates the name by the UTC day', () => {
    expect(uploadBaseName({ fileName: 'a.txt', kind: 'document', date: Date.UTC(2024, 0, 1, 0, 5) })).toBe(
      '2024-01-01-a.txt',
    );
  });
});

describe('saving uploads', () => {
  it('saves hostile names as new files directly in uploads/, nowhere else', async () => {
    const w = world();
    const before = snapshot(w.outside);
    const names = [
      '../../etc/passwd',
      `../../../..${w.outside}/notes.txt`,
      '..\\x',
      '.hidden',
      'a\u202Etxt.exe',
      '\u200B',
      'n'.repeat(300),
      '',
    ];
    const saved: string[] = [];
    for (const [i, fileName] of names.entries()) saved.push(await upload(w.root, fileName, `upload ${i}\n`));
    for (const [i, relPath] of saved.entries()) {
      expect(relPath).toMatch(/^uploads\/2024-05-17-[\p{L}\p{N}_-][\p{L}\p{M}\p{N}._-]*$/u);
      expect(fs.readFileSync(path.join(w.root, relPath), 'utf8')).toBe(`upload ${i}\n`);
    }
    expect(fs.readdirSync(w.root)).toEqual([UPLOADS_DIR]);
    expect(fs.readdirSync(w.uploads)).toHaveLength(names.length);
    expect(snapshot(w.outside)).toEqual(before);
  });

  // guards: the reservation skips taken names, and the exclusive create never replaces a file
  it('gives a second upload of the same name -2 and leaves the first as it was', async () => {
    const w = world();
    expect(await upload(w.root, 'report.pdf', 'first')).toBe(`uploads/${DAY}-report.pdf`);
    expect(await upload(w.root, 'report.pdf', 'second')).toBe(`uploads/${DAY}-report-2.pdf`);
    expect(await upload(w.root, 'report.pdf', 'third')).toBe(`uploads/${DAY}-report-3.pdf`);
    expect(await upload(w.root, 'README', 'x')).toBe(`uploads/${DAY}-README`);
    expect(await upload(w.root, 'README', 'y')).toBe(`uploads/${DAY}-README-2`);
    expect(fs.readFileSync(path.join(w.uploads, `${DAY}-report.pdf`), 'utf8')).toBe('first');
    expect(fs.readFileSync(path.join(w.uploads, `${DAY}-report-2.pdf`), 'utf8')).toBe('second');
    // written over a name it did not reserve: refused, the first file unchanged
    expect(await writeUpload(w.root, `uploads/${DAY}-report.pdf`, Buffer.from('overwrite'))).toBe('taken');
    expect(fs.readFileSync(path.join(w.uploads, `${DAY}-report.pdf`), 'utf8')).toBe('first');
  });

  it('creates files with mode 0644 whatever the umask', async () => {
    const w = world();
    const saved = process.umask(0o077);
    try {
      const relPath = await upload(w.root, 'a.txt', 'a');
      expect(fs.statSync(path.join(w.root, relPath)).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(saved);
    }
  });

  // guard: uploads/ is opened without following a link (O_NOFOLLOW at every component)
  it('refuses uploads/ as a link to a folder outside, and writes nothing there', async () => {
    const w = world();
    fs.symlinkSync(w.outside, w.uploads);
    const before = snapshot(w.outside);
    const base = uploadBaseName({ fileName: 'x.txt', kind: 'document', date: DATE });
    await expect(reserveUploadPath(w.root, base)).rejects.toThrow(UploadsRefusedError);
    await expect(reserveUploadPath(w.root, base)).rejects.toThrow(/symbolic link/);
    await expect(writeUpload(w.root, `uploads/${base}`, Buffer.from('x'))).rejects.toThrow(
      UploadsRefusedError,
    );
    // also when it is the very name of a file there, with the same bytes
    await expect(writeUpload(w.root, 'uploads/notes.txt', Buffer.from(SECRET))).rejects.toThrow(
      UploadsRefusedError,
    );
    expect(snapshot(w.outside)).toEqual(before);
    expect(fs.lstatSync(w.uploads).isSymbolicLink()).toBe(true);
  });

  it('refuses uploads/ as a link that stays in the project, and as a file', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.root, 'docs'));
    fs.symlinkSync('docs', w.uploads);
    const base = uploadBaseName({ fileName: 'x.txt', kind: 'document', date: DATE });
    await expect(reserveUploadPath(w.root, base)).rejects.toThrow(UploadsRefusedError);
    await expect(writeUpload(w.root, `uploads/${base}`, Buffer.from('x'))).rejects.toThrow(
      UploadsRefusedError,
    );
    expect(fs.readdirSync(path.join(w.root, 'docs'))).toEqual([]);
    fs.unlinkSync(w.uploads);
    fs.writeFileSync(w.uploads, 'a file');
    await expect(reserveUploadPath(w.root, base)).rejects.toThrow(/not a folder/);
    await expect(writeUpload(w.root, `uploads/${base}`, Buffer.from('x'))).rejects.toThrow(/not a folder/);
    expect(fs.readFileSync(w.uploads, 'utf8')).toBe('a file');
  });

  it('takes only paths of one name in uploads/', async () => {
    const w = world();
    for (const relPath of ['uploads/../x', 'uploads/a/b', 'x.txt', 'uploads/', 'uploads/..']) {
      await expect(writeUpload(w.root, relPath, Buffer.from('x'))).rejects.toThrow(/not a/);
    }
    for (const base of ['../x', 'a/b', '', '..'])
      await expect(reserveUploadPath(w.root, base)).rejects.toThrow();
    expect(fs.readdirSync(w.root)).toEqual([]);
  });

  // guards: the exclusive create does not follow a link at the name (O_CREAT|O_EXCL|O_NOFOLLOW),
  // and the comparison for `same` opens the name without following it
  it('counts uploads/<name> as taken when it is a link out, and leaves its target alone', async () => {
    const w = world();
    fs.mkdirSync(w.uploads);
    const name = `${DAY}-notes.txt`;
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.uploads, name));
    fs.symlinkSync(path.join(w.outside, 'new.txt'), path.join(w.uploads, `${DAY}-new.txt`));
    const before = snapshot(w.outside);
    const base = uploadBaseName({ fileName: 'notes.txt', kind: 'document', date: DATE });
    expect(await reserveUploadPath(w.root, base)).toBe(`uploads/${DAY}-notes-2.txt`);
    // the very bytes of the file the link points to: following it would call them the same
    expect(await writeUpload(w.root, `uploads/${name}`, Buffer.from(SECRET))).toBe('taken');
    expect(await writeUpload(w.root, `uploads/${name}`, Buffer.from('mine'))).toBe('taken');
    // a dangling link: creating through it would make the file outside
    expect(await writeUpload(w.root, `uploads/${DAY}-new.txt`, Buffer.from('mine'))).toBe('taken');
    expect(snapshot(w.outside)).toEqual(before);
    expect(fs.existsSync(path.join(w.outside, 'new.txt'))).toBe(false);
    expect(fs.lstatSync(path.join(w.uploads, name)).isSymbolicLink()).toBe(true);
  });

  it('counts a folder or a FIFO at the name as taken', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.uploads, `${DAY}-a.txt`), { recursive: true });
    execFileSync('mkfifo', [path.join(w.uploads, `${DAY}-b.txt`)]);
    expect(await reserveUploadPath(w.root, `${DAY}-a.txt`)).toBe(`uploads/${DAY}-a-2.txt`);
    expect(await writeUpload(w.root, `uploads/${DAY}-a.txt`, Buffer.from('x'))).toBe('taken');
    expect(await writeUpload(w.root, `uploads/${DAY}-b.txt`, Buffer.from('x'))).toBe('taken');
    expect(fs.statSync(path.join(w.uploads, `${DAY}-a.txt`)).isDirectory()).toBe(true);
  });

  // guard: an existing file is `same` only with equal content, and never written over
  it('says same for the same bytes again and taken for other, shorter or longer content', async () => {
    const w = world();
    const relPath = await upload(w.root, 'data.bin', 'the content');
    const file = path.join(w.root, relPath);
    expect(await writeUpload(w.root, relPath, Buffer.from('the content'))).toBe('same');
    expect(await writeUpload(w.root, relPath, Buffer.from('other bytes'))).toBe('taken');
    // a file cut short: these bytes start like it, but it is not the upload
    expect(await writeUpload(w.root, relPath, Buffer.from('the content and more'))).toBe('taken');
    expect(await writeUpload(w.root, relPath, Buffer.from('the'))).toBe('taken');
    expect(fs.readFileSync(file, 'utf8')).toBe('the content');
    const empty = await upload(w.root, 'empty', '');
    expect(await writeUpload(w.root, empty, Buffer.alloc(0))).toBe('same');
    expect(await writeUpload(w.root, empty, Buffer.from('x'))).toBe('taken');
  });

  it('writes large content in full', async () => {
    const w = world();
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 7, 'z');
    bytes[bytes.length - 1] = 0x21;
    const relPath = await reserveUploadPath(w.root, `${DAY}-big.bin`);
    expect(await writeUpload(w.root, relPath, bytes)).toBe('written');
    expect(fs.readFileSync(path.join(w.root, relPath)).equals(bytes)).toBe(true);
    expect(await writeUpload(w.root, relPath, bytes)).toBe('same');
  });
});

describe('uploads/ swapped for a link in a tight loop by another process', () => {
  // guard: every open goes from the project's root one component at a time through descriptors,
  // never by a path a swap can redirect between a check and the open
  it('never writes outside the project over 200 uploads', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.root, 'uploads.real'));
    fs.symlinkSync(w.outside, path.join(w.root, 'uploads.link'));
    fs.mkdirSync(path.join(w.root, 'trash'));
    const before = snapshot(w.outside);
    // Alternates `uploads` between the real folder and the link out as fast as it can. A folder
    // the worker creates at `uploads` in a gap is moved aside, so the swapping never stalls.
    // Bounded in time on its own in case the test dies first.
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `
        const fs = require('fs');
        const root = process.argv[1];
        const at = (n) => root + '/' + n;
        let trashed = 0;
        const place = (from) => {
          try { fs.renameSync(at(from), at('uploads')); return; } catch {}
          try { fs.renameSync(at('uploads'), at('trash/' + trashed++)); } catch {}
        };
        const take = (to) => { try { fs.renameSync(at('uploads'), at(to)); } catch {} };
        const end = Date.now() + 60000;
        while (Date.now() < end) { place('uploads.real'); take('uploads.real'); place('uploads.link'); take('uploads.link'); }
        `,
        w.root,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => swapper.once('exit', resolve));
    const outcomes: Record<string, number> = {};
    try {
      for (let i = 0; i < 200; i++) {
        const base = `${DAY}-f${i}.txt`;
        let outcome: string;
        try {
          // a refused reservation still tries the write, which has to refuse on its own
          const relPath = await reserveUploadPath(w.root, base).catch((err: unknown) => {
            if (!(err instanceof UploadsRefusedError)) throw err;
            return `${UPLOADS_DIR}/${base}`;
          });
          outcome = await writeUpload(w.root, relPath, Buffer.from(`upload ${i}\n`));
          // and the name of the file outside: through the link it would be replaced
          if (i % 10 === 0) await writeUpload(w.root, 'uploads/notes.txt', Buffer.from('replaced\n'));
        } catch (err) {
          // each call works on a folder of the project or is refused; which one is up to timing
          if (!(err instanceof UploadsRefusedError)) throw err;
          outcome = 'refused';
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    } finally {
      swapper.kill('SIGKILL');
      await exited;
    }
    console.log(`uploads during the swap: ${JSON.stringify(outcomes)}`);
    expect(snapshot(w.outside)).toEqual(before);
  });
});

describe('uploadsBytes', () => {
  // guard: the walk lists folders without following links and counts regular files only
  it('sums the regular files below uploads/, nested ones too, and ignores links', async () => {
    const w = world();
    expect(await uploadsBytes(w.root)).toBe(0);
    fs.mkdirSync(path.join(w.uploads, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(w.uploads, 'one.bin'), Buffer.alloc(10));
    fs.writeFileSync(path.join(w.uploads, 'a', 'two.bin'), Buffer.alloc(200));
    fs.writeFileSync(path.join(w.uploads, 'a', 'b', 'three.bin'), Buffer.alloc(3000));
    fs.writeFileSync(path.join(w.outside, 'big.bin'), Buffer.alloc(100_000));
    fs.writeFileSync(path.join(w.root, 'beside.bin'), Buffer.alloc(50_000));
    fs.symlinkSync(path.join(w.outside, 'big.bin'), path.join(w.uploads, 'big-link.bin'));
    fs.symlinkSync(w.outside, path.join(w.uploads, 'a', 'outside-folder'));
    fs.symlinkSync('../beside.bin', path.join(w.uploads, 'inside-link.bin'));
    execFileSync('mkfifo', [path.join(w.uploads, 'pipe')]);
    expect(await uploadsBytes(w.root)).toBe(3210);
  });

  it('counts nothing when uploads/ is a link or a file', async () => {
    const w = world();
    fs.writeFileSync(path.join(w.outside, 'big.bin'), Buffer.alloc(100_000));
    fs.symlinkSync(w.outside, w.uploads);
    expect(await uploadsBytes(w.root)).toBe(0);
    fs.unlinkSync(w.uploads);
    fs.writeFileSync(w.uploads, Buffer.alloc(1000));
    expect(await uploadsBytes(w.root)).toBe(0);
  });
});

describe('readProjectImage', () => {
  // guards: the open confined to the project (a link out refused), the size limit before and
  // while reading, regular files only
  it('reads a file of the project, also through a link that stays inside', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.root, 'img'));
    fs.writeFileSync(path.join(w.root, 'img', 'a.png'), 'PNGDATA');
    fs.symlinkSync('img/a.png', path.join(w.root, 'alias.png'));
    expect(await readProjectImage(w.root, 'img/a.png', 100)).toEqual(Buffer.from('PNGDATA'));
    expect(await readProjectImage(w.root, 'alias.png', 100)).toEqual(Buffer.from('PNGDATA'));
    expect(await readProjectImage(w.root, 'img/a.png', 7)).toEqual(Buffer.from('PNGDATA'));
  });

  it('refuses a link out of the project, a path through a folder link out, and a path outside', async () => {
    const w = world();
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'pic.png'));
    fs.symlinkSync(w.outside, path.join(w.root, 'out'));
    expect(await readProjectImage(w.root, 'pic.png', 1000)).toBeNull();
    expect(await readProjectImage(w.root, 'out/notes.txt', 1000)).toBeNull();
    expect(await readProjectImage(w.root, path.join(w.outside, 'notes.txt'), 1000)).toBeNull();
    expect(await readProjectImage(w.root, `../../../..${w.outside}/notes.txt`, 1000)).toBeNull();
  });

  it('refuses a file over the limit, a folder, a FIFO and a missing file', async () => {
    const w = world();
    fs.writeFileSync(path.join(w.root, 'big.png'), Buffer.alloc(1001));
    fs.mkdirSync(path.join(w.root, 'folder.png'));
    execFileSync('mkfifo', [path.join(w.root, 'pipe.png')]);
    expect(await readProjectImage(w.root, 'big.png', 1000)).toBeNull();
    expect(await readProjectImage(w.root, 'folder.png', 1000)).toBeNull();
    expect(await readProjectImage(w.root, 'pipe.png', 1000)).toBeNull();
    expect(await readProjectImage(w.root, 'missing.png', 1000)).toBeNull();
    expect(await readProjectImage(w.root, 'big.png/x', 1000)).toBeNull();
  });
});

describe('the safe-fs primitives uploads stand on', () => {
  it("opens with 'new' only a file it creates: anything at the name fails with EEXIST", () => {
    const w = world();
    fs.mkdirSync(path.join(w.root, 'd'));
    fs.writeFileSync(path.join(w.root, 'd', 'file'), 'kept');
    fs.symlinkSync(path.join(w.outside, 'new.txt'), path.join(w.root, 'd', 'dangling'));
    fs.mkdirSync(path.join(w.root, 'd', 'folder'));
    for (const name of ['file', 'dangling', 'folder']) {
      expect(() => openInside(w.root, `d/${name}`, 'new', { literal: true })).toThrow(
        expect.objectContaining({ code: 'EEXIST' }),
      );
    }
    const opened = openInside(w.root, 'e/f/new.txt', 'new', { literal: true, mode: 0o600 });
    expect(opened).toMatchObject({ ok: true, file: { relative: 'e/f/new.txt', created: true, size: 0 } });
    if (opened.ok) fs.closeSync(opened.file.fd);
    expect(fs.readFileSync(path.join(w.root, 'd', 'file'), 'utf8')).toBe('kept');
    expect(fs.existsSync(path.join(w.outside, 'new.txt'))).toBe(false);
  });

  it('makes a folder one component at a time, refusing a link and failing on a file', () => {
    const w = world();
    expect(makeFolderInside(w.root, 'a/b/c', { literal: true })).toEqual({ ok: true, relative: 'a/b/c' });
    expect(fs.statSync(path.join(w.root, 'a/b/c')).isDirectory()).toBe(true);
    fs.symlinkSync(w.outside, path.join(w.root, 'out'));
    expect(makeFolderInside(w.root, 'out/x', { literal: true })).toMatchObject({ ok: false, reason: 'link' });
    fs.writeFileSync(path.join(w.root, 'file'), '');
    expect(() => makeFolderInside(w.root, 'file/x', { literal: true })).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    );
    expect(fs.readdirSync(w.outside)).toEqual(['notes.txt']);
  });

  it('lists sizes of regular files only when asked', async () => {
    const w = world();
    fs.writeFileSync(path.join(w.root, 'a.bin'), Buffer.alloc(12));
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'b.link'));
    expect(await listFolderInside(w.root, '.', { literal: true, sizes: true })).toEqual({
      ok: true,
      relative: '.',
      entries: [
        { name: 'a.bin', kind: 'file', size: 12 },
        { name: 'b.link', kind: 'link', linkTarget: path.join(w.outside, 'notes.txt') },
      ],
    });
    const plain = await listFolderInside(w.root, '.', { literal: true });
    expect(plain.ok && plain.entries[0]).toEqual({ name: 'a.bin', kind: 'file' });
  });
});
