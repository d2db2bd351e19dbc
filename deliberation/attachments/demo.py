"""Demo evidence for the shared-parking item, drawn on the fly (no binary files in git): a site
plan at 1920×1080 for the projector, a photo of the lot (with camera EXIF and a GPS position,
which the upload strips), and the expert's two-page survey report as a PDF."""

from __future__ import annotations

import functools
import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


def _font(size: int) -> tuple[ImageFont.ImageFont, bool]:
    """A font that draws Chinese when the machine has one (else English labels)."""
    for path in CJK_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size), False


@functools.cache  # drawn once per process (tests load the demo many times)
def site_plan() -> bytes:
    width, height = 1920, 1080
    image = Image.new("RGB", (width, height), (247, 245, 240))
    draw = ImageDraw.Draw(image)
    big, cjk = _font(44)
    mid, _ = _font(30)
    small, _ = _font(24)
    t = (lambda zh, en: zh) if cjk else (lambda zh, en: en)
    draw.text((60, 40), t("东门内侧空地 · 夜间共享停车平面图", "East lot · night-time shared parking plan"),
              font=big, fill=(27, 31, 36))
    draw.text((60, 105), t("比例 1:200 · 19:00—次日 7:00 · 共 12 个车位", "Scale 1:200 · 19:00–7:00 · 12 spaces"),
              font=small, fill=(74, 83, 96))
    # Buildings 3 and 4 to the west, the fire lane along them, the lot east of it.
    for y, name in ((180, t("3 号楼", "Building 3")), (600, t("4 号楼", "Building 4"))):
        draw.rectangle((60, y, 420, y + 330), fill=(214, 208, 200), outline=(120, 110, 100), width=3)
        draw.text((170, y + 140), name, font=mid, fill=(27, 31, 36))
    draw.rectangle((440, 160, 720, 1020), fill=(255, 226, 214), outline=(166, 27, 20), width=4)
    draw.text((470, 560), t("消防通道", "Fire lane"), font=mid, fill=(166, 27, 20))
    draw.text((470, 600), t("净宽 ≥ 4 米", "clear ≥ 4 m"), font=small, fill=(166, 27, 20))
    draw.rectangle((760, 160, 1780, 1020), fill=(220, 222, 226), outline=(74, 83, 96), width=3)
    for number in range(12):
        column, row = number % 6, number // 6
        x0 = 800 + column * 160
        y0 = 200 if row == 0 else 700
        draw.rectangle((x0, y0, x0 + 140, y0 + 280), outline=(255, 255, 255), width=6)
        draw.text((x0 + 50, y0 + 110), f"{number + 1:02d}", font=mid, fill=(11, 87, 164))
    draw.rectangle((760, 520, 1780, 660), fill=(200, 204, 210))
    draw.text((1140, 570), t("行车道 → 东门", "Driveway → east gate"), font=mid, fill=(27, 31, 36))
    draw.rectangle((1800, 520, 1880, 660), fill=(140, 29, 24))
    draw.text((1806, 670), t("东门", "Gate"), font=small, fill=(140, 29, 24))
    for x, y in ((770, 170), (1740, 170)):
        draw.rectangle((x, y, x + 26, y + 26), fill=(29, 107, 50))
    draw.text((60, 1030), t("■ 指示牌（2 块）   白天恢复为活动场地", "■ signs (2)   a play area again by day"),
              font=small, fill=(29, 107, 50))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


@functools.cache  # drawn once per process (tests load the demo many times)
def lot_photo() -> bytes:
    """A photo-like picture of the lot at dusk, as a phone saves it: EXIF with a GPS position."""
    rng = random.Random(21)
    width, height = 1600, 1200
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(570):  # evening sky
        shade = int(120 + 100 * y / 570)
        draw.line((0, y, width, y), fill=(shade - 60, shade - 30, shade + 20))
    draw.rectangle((0, 300, 600, 560), fill=(150, 140, 130))  # building 3
    for x in range(40, 560, 90):
        for y in range(330, 540, 70):
            draw.rectangle((x, y, x + 50, y + 40), fill=(240, 210, 130) if rng.random() > .4 else (90, 90, 100))
    draw.polygon(((0, 560), (width, 520), (width, height), (0, height)), fill=(88, 90, 94))  # asphalt
    for x in range(200, 1600, 230):
        draw.line((x, 620, x - 160, height), fill=(235, 235, 235), width=9)
    for x, colour in ((330, (160, 30, 30)), (790, (230, 230, 235)), (1250, (30, 60, 120))):
        draw.rounded_rectangle((x, 760, x + 300, 960), radius=40, fill=colour)
        draw.rectangle((x + 40, 700, x + 260, 790), fill=tuple(c // 2 for c in colour))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noise = Image.effect_noise((width, height), 18).convert("RGB")
    image = Image.blend(image, noise, 0.06)
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"
    exif[0x0110] = "DemoPhone 12"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 50.4), 3: "E", 4: (121.0, 28.0, 12.6)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


@functools.cache  # drawn once per process (tests load the demo many times)
def survey_pdf() -> bytes:
    """The expert's two-page survey report (pages drawn as pictures, as a scanner would save them)."""
    pages = []
    title, cjk = _font(30)
    body, _ = _font(18)
    t = (lambda zh, en: zh) if cjk else (lambda zh, en: en)
    texts = [
        [t("东门空地消防通道测量报告", "Fire lane survey, east lot"),
         t("测量人：吴工程师　日期：2026 年 11 月", "Surveyor: Wu, engineer. November 2026"), "",
         t("1. 消防通道现状净宽 4.6 米，夜间常被占用。", "1. The fire lane is 4.6 m clear; often blocked at night."),
         t("2. 12 个车位外沿距通道边线 0.5 米。", "2. The 12 spaces end 0.5 m from the lane."),
         t("3. 结论：按平面图划线后，通道净宽不少于 4 米。", "3. With the planned lines the lane keeps 4 m.")],
        [t("附：安全措施建议", "Annex: safety measures"), "",
         t("· 每晚 22:00 保安巡查一次", "· a guard checks at 22:00 every night"),
         t("· 通道两端设置禁停标志", "· no-parking signs at both ends of the lane"),
         t("· 早上 7:00 前车辆全部驶离", "· every car gone by 7:00")],
    ]
    for lines in texts:
        page = Image.new("L", (595, 842), 255)
        draw = ImageDraw.Draw(page)
        y = 70
        for number, line in enumerate(lines):
            draw.text((60, y), line, font=title if number == 0 else body, fill=0)
            y += 56 if number == 0 else 34
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=72,
                  title="Fire lane survey", author="Demo")
    return out.getvalue()


def add_parking_evidence(*, community, author, expert, item, expert_review) -> None:
    """Through the service, as the author and the expert would: the plan and the photo on the
    item, the survey report on the expert's review."""
    from .services import add_attachment

    add_attachment(actor=author, community=community, target_key="item", target_id=item.id,
                   filename="东门空地平面图.png", data=site_plan(),
                   alt_text="东门内侧空地平面图：消防通道净宽不少于 4 米，东侧划 12 个夜间共享车位，行车道通向东门")
    add_attachment(actor=author, community=community, target_key="item", target_id=item.id,
                   filename="IMG_2031.jpg", data=lot_photo(),
                   alt_text="傍晚的东门空地：地面已有旧划线，停着三辆车，背后是 3 号楼")
    add_attachment(actor=expert, community=community, target_key="review", target_id=expert_review.id,
                   filename="消防通道测量报告.pdf", data=survey_pdf(), alt_text="")
