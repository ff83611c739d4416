#!/usr/bin/env python3
"""Generates Parley's default sticker pack (server/stickers/default/).

Every sticker is drawn here, in SVG, from simple shapes: nothing is taken from
elsewhere. Each is rendered to a 512x512 PNG with a transparent background by
libvips' `vips` command (Debian package libvips-tools, needed only to
regenerate the pack: the PNGs are committed), and pack.toml lists them with
their emoji (format: server/stickers/README.md).

    scripts/make-default-stickers.py [--out DIR] [--keep-svg] [--sheet FILE]

--sheet also writes a contact sheet (all stickers at full size and at 96 px,
the size of a thumbnail in lists) to check them by eye.
"""

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

SIZE = 512
INK = "#2b2118"  # outline colour of every sticker
LINE = 14  # outline width
BORDER = 44  # width of the white die-cut border around each silhouette


def svg_document(silhouette, details, transform=""):
    """A sticker: a soft shadow and a white border follow the silhouette,
    then the coloured shapes and their details are drawn on top."""
    shadow = f'<g transform="translate(0 10)" fill="#000" stroke="#000" stroke-width="{BORDER}" ' \
             f'stroke-linejoin="round" opacity="0.18">{silhouette_only(silhouette)}</g>'
    border = f'<g fill="#fff" stroke="#fff" stroke-width="{BORDER}" stroke-linejoin="round">' \
             f'{silhouette_only(silhouette)}</g>'
    body = "".join(shape for shape, _ in silhouette)
    return f'''<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">
<defs>
  <radialGradient id="face" cx="40%" cy="35%" r="75%">
    <stop offset="0" stop-color="#fff3a6"/><stop offset="0.55" stop-color="#ffd84a"/>
    <stop offset="1" stop-color="#f5a524"/>
  </radialGradient>
  <radialGradient id="skin" cx="40%" cy="30%" r="80%">
    <stop offset="0" stop-color="#ffe3b0"/><stop offset="1" stop-color="#f7b860"/>
  </radialGradient>
  <linearGradient id="green" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="#5fdc7a"/><stop offset="1" stop-color="#1fa24a"/>
  </linearGradient>
</defs>
<g stroke-linecap="round" stroke-linejoin="round" transform="{transform}">{shadow}{border}{body}{details}</g>
</svg>
'''


def silhouette_only(silhouette):
    """The outer shapes again, without their own fill and stroke, for the
    border and shadow layers (which set them on the group)."""
    return "".join(outline for _, outline in silhouette)


def shape(tag, **attributes):
    """A silhouette part: (coloured element, bare outline element)."""
    def render(attrs):
        return f"<{tag} " + " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attrs.items()) + "/>"
    bare = {k: v for k, v in attributes.items() if k not in ("fill", "stroke", "stroke_width")}
    coloured = dict(attributes)
    coloured.setdefault("stroke", INK)
    coloured.setdefault("stroke_width", LINE)
    return render(coloured), render(bare)


def el(tag, **attributes):
    return "<" + tag + " " + " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attributes.items()) + "/>"


def ink_path(d, width=LINE, fill="none", colour=INK):
    return el("path", d=d, fill=fill, stroke=colour, stroke_width=width)


def face(cx=256, cy=266, r=196):
    return [shape("circle", cx=cx, cy=cy, r=r, fill="url(#face)")]


def cheeks(y=312, dx=112, cx=256):
    return "".join(el("ellipse", cx=cx + s * dx, cy=y, rx=34, ry=20, fill="#ff7a7a", opacity="0.45") for s in (-1, 1))


def eyes(y=218, dx=66, rx=22, ry=32, cx=256):
    return "".join(el("ellipse", cx=cx + s * dx, cy=y, rx=rx, ry=ry, fill=INK) +
                   el("circle", cx=cx + s * dx - 7, cy=y - 12, r=7, fill="#fff") for s in (-1, 1))


def closed_eyes_up(y=222, dx=66, cx=256):
    """Happy closed eyes: arcs bulging upwards."""
    return "".join(ink_path(f"M{cx + s * dx - 30} {y + 10} Q{cx + s * dx} {y - 30} {cx + s * dx + 30} {y + 10}", 16)
                   for s in (-1, 1))


def closed_eyes_down(y=222, dx=66, cx=256):
    """Sleeping eyes: arcs hanging downwards, with lashes."""
    out = ""
    for s in (-1, 1):
        x = cx + s * dx
        out += ink_path(f"M{x - 32} {y} Q{x} {y + 30} {x + 32} {y}", 14)
    return out


def tear(x, y, scale=1.0):
    return el("path", d=f"M{x} {y} C{x + 26 * scale} {y + 40 * scale} {x + 30 * scale} {y + 62 * scale} {x} "
                        f"{y + 70 * scale} C{x - 30 * scale} {y + 62 * scale} {x - 26 * scale} {y + 40 * scale} "
                        f"{x} {y} Z",
              fill="#5ab8ff", stroke=INK, stroke_width=10)


def heart(x, y, s, fill="#ff4d6d", width=LINE):
    """A heart centred on (x, y), about 2*s wide."""
    return el("path", d=f"M{x} {y + s * 0.9} C{x - s * 1.6} {y - s * 0.1} {x - s * 0.9} {y - s * 1.3} {x} "
                        f"{y - s * 0.45} C{x + s * 0.9} {y - s * 1.3} {x + s * 1.6} {y - s * 0.1} {x} {y + s * 0.9} Z",
              fill=fill, stroke=INK, stroke_width=width)


def happy():
    mouth = ink_path("M160 296 Q256 420 352 296 Q256 322 160 296 Z", LINE, "#8c2b1e")
    tongue = el("path", d="M212 350 Q256 330 300 350 Q280 378 256 380 Q232 378 212 350 Z", fill="#ff7f8f")
    return face(), eyes() + cheeks() + mouth + tongue


def laughing():
    mouth = ink_path("M140 284 L372 284 Q372 420 256 420 Q140 420 140 284 Z", LINE, "#8c2b1e")
    teeth = el("path", d="M152 291 L360 291 L356 318 Q256 326 156 318 Z", fill="#fff")
    tongue = el("path", d="M196 392 Q256 350 316 392 Q290 414 256 414 Q222 414 196 392 Z", fill="#ff7f8f")
    brows = ink_path("M150 160 Q186 140 222 156", 12) + ink_path("M290 156 Q326 140 362 160", 12)
    return face(), (closed_eyes_up(214) + brows + mouth + teeth + tongue + tear(96, 214, 0.9) + tear(416, 214, 0.9))


def love():
    mouth = ink_path("M176 320 Q256 400 336 320", 16)
    extra = heart(420, 88, 34) + heart(92, 120, 22, "#ff8fab", 10)
    return face(), heart(190, 222, 46) + heart(322, 222, 46) + cheeks(326) + mouth + extra


def sad():
    brows = ink_path("M146 176 Q180 168 214 146", 12) + ink_path("M298 146 Q332 168 366 176", 12)
    mouth = ink_path("M190 368 Q256 316 322 368", 16)
    return face(), brows + eyes(230, ry=28) + mouth + tear(172, 268, 1.0)


def thumbs_up():
    sil = [
        shape("rect", x=92, y=258, width=84, height=196, rx=18, fill="#4d96ff"),
        shape("path", d="M178 250 L226 250 Q236 180 220 120 Q214 84 246 76 Q284 70 292 118 Q302 176 290 246 "
                        "L388 246 Q426 246 426 286 Q426 306 410 316 Q430 328 428 352 Q426 374 406 382 "
                        "Q424 394 420 418 Q416 440 392 446 Q404 458 400 474 Q394 496 366 496 L178 496 Z",
              fill="url(#skin)"),
    ]
    lines = ink_path("M300 316 L410 316", 12) + ink_path("M300 382 L406 382", 12) + \
        ink_path("M300 446 L392 446", 12)
    cuff = el("circle", cx=134, cy=300, r=10, fill="#fff", opacity="0.8")
    sparkle = ink_path("M100 170 L130 190 M80 226 L118 232 M150 120 L162 154", 12, colour="#ffb703")
    return sil, lines + cuff + sparkle, "translate(8 -34)"


def party():
    sil = face(256, 286, 182) + [
        shape("path", d="M150 150 L226 44 L292 126 Q222 150 150 150 Z", fill="#7b61ff"),
    ]
    stripes = ink_path("M180 112 Q214 116 252 94", 10, colour="#ffd166") + \
        ink_path("M204 76 Q222 80 240 70", 10, colour="#ffd166")
    sil.append(shape("circle", cx=226, cy=42, r=20, fill="#ff4d6d", stroke_width=10))
    blower = ink_path("M318 366 L436 404", 22, colour="#ff4d6d") + ink_path("M318 366 L436 404", 8, colour="#ffd166")
    mouth = ink_path("M222 344 Q270 390 318 366", 14)
    confetti = "".join(el("rect", x=x, y=y, width=22, height=12, rx=4, fill=c, transform=f"rotate({a} {x} {y})")
                       for x, y, c, a in [(380, 110, "#ff4d6d", 30), (440, 200, "#4d96ff", -20),
                                          (70, 260, "#2ec27e", 45), (96, 420, "#ffb703", -35),
                                          (420, 300, "#7b61ff", 60), (330, 40, "#2ec27e", -15)])
    return sil, closed_eyes_up(246, 64) + cheeks(330, 108) + mouth + blower + stripes + confetti


def thinking():
    brows = ink_path("M150 150 Q186 120 222 140", 12) + ink_path("M292 168 Q326 162 360 170", 12)
    look = "".join(el("ellipse", cx=x, cy=214, rx=22, ry=30, fill=INK) + el("circle", cx=x + 8, cy=202, r=7,
                                                                            fill="#fff") for x in (192, 320))
    mouth = ink_path("M200 354 Q240 340 280 350 Q304 356 320 344", 14)
    question = ink_path("M392 70 Q392 30 432 30 Q472 30 472 70 Q472 100 436 112 L432 146", 22, colour="#7b61ff")
    dot = el("circle", cx=432, cy=184, r=13, fill="#7b61ff")
    return face(), brows + look + mouth + question + dot


def sleepy():
    mouth = el("ellipse", cx=256, cy=356, rx=26, ry=20, fill="#8c2b1e", stroke=INK, stroke_width=12)
    zz = ink_path("M346 52 L404 52 L346 112 L404 112", 16, colour="#4d96ff") + \
        ink_path("M420 128 L456 128 L420 166 L456 166", 12, colour="#4d96ff")
    bubble = el("circle", cx=330, cy=384, r=26, fill="#bfe6ff", stroke=INK, stroke_width=8, opacity="0.9")
    return face(), closed_eyes_down(234) + cheeks(304) + mouth + bubble + zz


def surprised():
    brows = ink_path("M146 144 Q186 110 226 136", 12) + ink_path("M286 136 Q326 110 366 144", 12)
    wide = "".join(el("circle", cx=x, cy=216, r=40, fill="#fff", stroke=INK, stroke_width=12) +
                   el("circle", cx=x, cy=220, r=18, fill=INK) for x in (186, 326))
    mouth = el("ellipse", cx=256, cy=354, rx=42, ry=52, fill="#8c2b1e", stroke=INK, stroke_width=LINE)
    return face(), brows + wide + mouth


def cool():
    glasses = ink_path("M112 196 L400 196", 16) + \
        ink_path("M126 196 L232 196 Q236 262 180 266 Q132 266 126 196 Z", 12, INK) + \
        ink_path("M280 196 L386 196 Q380 266 332 266 Q276 262 280 196 Z", 12, INK)
    shine = ink_path("M150 214 L178 214", 8, colour="#8fd3ff") + ink_path("M304 214 L332 214", 8, colour="#8fd3ff")
    mouth = ink_path("M192 340 Q262 380 330 320", 16)
    return face(), glasses + shine + mouth + cheeks(316, 120)


def ok():
    sil = [shape("rect", x=56, y=96, width=400, height=320, rx=80, fill="url(#green)")]
    o = el("ellipse", cx=180, cy=256, rx=66, ry=86, fill="none", stroke="#fff", stroke_width=40)
    k = ink_path("M306 170 L306 342 M306 262 L396 170 M328 240 L400 342", 40, colour="#fff")
    check = ""
    return sil, o + k + check


def wave():
    palm = "rotate(-18 256 300)"
    fingers = [(170, 92, 150), (226, 62, 180), (282, 70, 172), (338, 106, 140)]
    sil = []
    for x, y, h in fingers:
        sil.append(shape("rect", x=x, y=y, width=54, height=h + 80, rx=27, fill="url(#skin)", transform=palm))
    sil.append(shape("rect", x=160, y=200, width=240, height=230, rx=90, fill="url(#skin)", transform=palm))
    sil.append(shape("rect", x=90, y=250, width=130, height=56, rx=28, fill="url(#skin)",
                     transform="rotate(-58 200 300)"))
    cover = el("rect", x=174, y=214, width=212, height=120, rx=50, fill="#fbcf86", transform=palm)
    motion = ink_path("M420 150 Q456 200 440 260", 14, colour="#4d96ff") + \
        ink_path("M456 120 Q500 200 476 290", 12, colour="#4d96ff") + \
        ink_path("M84 150 Q56 200 70 250", 12, colour="#4d96ff")
    return sil, cover + motion


STICKERS = [
    ("happy", "😀", happy),
    ("laughing", "😂", laughing),
    ("love", "😍", love),
    ("sad", "😢", sad),
    ("thumbs-up", "👍", thumbs_up),
    ("party", "🥳", party),
    ("thinking", "🤔", thinking),
    ("sleepy", "😴", sleepy),
    ("surprised", "😮", surprised),
    ("cool", "😎", cool),
    ("ok", "🆗", ok),
    ("wave", "👋", wave),
]


def run(*command):
    subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=pathlib.Path, default=root / "server" / "stickers" / "default")
    parser.add_argument("--keep-svg", action="store_true", help="keep the SVG sources beside the PNGs")
    parser.add_argument("--sheet", type=pathlib.Path, help="also write a contact sheet PNG here")
    args = parser.parse_args()
    if shutil.which("vips") is None:
        sys.exit("make-default-stickers: needs the `vips` command (apt-get install libvips-tools)")
    args.out.mkdir(parents=True, exist_ok=True)

    manifest = ['# The default sticker pack of parleyd, generated by scripts/make-default-stickers.py.',
                '# Format: server/stickers/README.md.',
                'name = "parley-default"', 'title = "Parley"', '']
    pngs = []
    with tempfile.TemporaryDirectory() as work:
        for name, emoji, draw in STICKERS:
            svg = pathlib.Path(work) / f"{name}.svg"
            svg.write_text(svg_document(*draw()), encoding="utf-8")
            if args.keep_svg:
                shutil.copy(svg, args.out / svg.name)
            png = args.out / f"{name}.png"
            # strip: no metadata in the committed files; compression 9: smallest.
            run("vips", "copy", str(svg), f"{png}[strip,compression=9]")
            pngs.append(png)
            manifest += ["[[sticker]]", f'file = "{png.name}"', f'emoji = "{emoji}"', ""]
        (args.out / "pack.toml").write_text("\n".join(manifest), encoding="utf-8")

        if args.sheet:
            # Row 1..3: full size on a grey checker-free background; last row: at 96 px.
            full = pathlib.Path(work) / "full.v"
            run("vips", "arrayjoin", " ".join(map(str, pngs)), str(full), "--across", "4", "--shim", "16",
                "--background", "0 0 0 0")
            small = []
            for png in pngs:
                out = pathlib.Path(work) / f"small-{png.stem}.v"
                run("vips", "thumbnail", str(png), str(out), "96")
                small.append(str(out))
            smalls = pathlib.Path(work) / "small.v"
            run("vips", "arrayjoin", " ".join(small), str(smalls), "--across", "12", "--shim", "8",
                "--background", "0 0 0 0")
            both = pathlib.Path(work) / "both.v"
            run("vips", "join", str(full), str(smalls), str(both), "vertical", "--shim", "24", "--expand",
                "--background", "0 0 0 0")
            run("vips", "flatten", str(both), str(args.sheet), "--background", "226 232 240")
    print(f"make-default-stickers: {len(STICKERS)} stickers in {args.out}")


if __name__ == "__main__":
    main()
