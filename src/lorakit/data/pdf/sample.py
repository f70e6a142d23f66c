"""Realistic multi-page policy PDFs (reportlab), for tests and the policy-QA example.

Numbered sections and subsections, bullet lists, tables, and a running header and footer on every
page, the things a parser must get right. Two documents: the 3-page leave policy below (the parser's
tests) and the ~10-page employee handbook of :mod:`lorakit.data.pdf.handbook` (the policy-QA example).
``python -m lorakit.data.pdf.sample OUT.pdf [--handbook]`` writes one.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = "Northwind Holdings - Leave Policy (HR-POL-014, version 3.2)"
TABLE = [["Leave type", "Days per year", "Carry-over", "Approval by"],
         ["Annual leave", "25", "up to 5 days", "line manager"],
         ["Sick leave", "10 paid", "none", "none (notify HR)"],
         ["Parental leave", "16 weeks", "n/a", "HR business partner"],
         ["Bereavement leave", "5", "none", "line manager"],
         ["Study leave", "3", "none", "department head"]]

SECTIONS: list[tuple[str, list[str | list[str]]]] = [
    ("1. Purpose and scope", [
        "This policy sets out the leave entitlements of all employees of Northwind Holdings and the rules for "
        "requesting, approving and recording leave. It applies to permanent and fixed-term employees in every "
        "country where the company operates, unless local law grants more generous terms.",
        "Contractors and agency workers are not covered by this policy; their leave is governed by their contracts."]),
    ("2. Annual leave", []),
    ("2.1 Entitlement", [
        "Full-time employees receive 25 working days of paid annual leave per calendar year. Part-time employees "
        "receive a pro-rata entitlement based on their contracted hours.",
        "Employees with more than 5 years of continuous service receive 2 additional days of annual leave."]),
    ("2.2 Requesting annual leave", [
        "Annual leave must be requested in the LeaveTrack system at least 10 working days in advance. Requests for "
        "more than 10 consecutive working days must be submitted at least 30 days in advance.",
        ["The line manager must respond to a request within 3 working days.",
         "A request that receives no response within 3 working days is escalated to the HR business partner.",
         "Leave may be refused during the annual financial close in the first two weeks of January."]]),
    ("2.3 Carry-over", [
        "Up to 5 days of unused annual leave may be carried over into the next calendar year. Carried-over days "
        "must be taken by 31 March; days not taken by then are forfeited."]),
    ("3. Sick leave", [
        "Employees who are unwell must notify their line manager before 10:00 on the first day of absence. "
        "Employees receive 10 days of fully paid sick leave per year.",
        "A medical certificate is required for any absence longer than 3 consecutive calendar days.",
        ["Sick leave does not reduce the annual leave entitlement.",
         "An employee who falls ill during annual leave may reclassify those days as sick leave with a medical "
         "certificate."]]),
    ("4. Parental leave", [
        "Employees with at least 6 months of service are entitled to 16 weeks of paid parental leave. Parental "
        "leave must be notified to the HR business partner at least 8 weeks before it starts.",
        "Parental leave may be taken in up to 3 separate blocks within 12 months of the birth or adoption."]),
    ("5. Other leave", []),
    ("5.1 Bereavement leave", [
        "Employees may take up to 5 days of paid bereavement leave on the death of a close family member, and "
        "1 day for other relatives."]),
    ("5.2 Study leave", [
        "Employees enrolled in a course approved by their department head may take 3 days of paid study leave per "
        "year for examinations."]),
    ("6. Summary of entitlements", ["The table below summarises the entitlements described in this policy.",
                                    "TABLE"]),
    ("7. Records and review", [
        "All leave is recorded in LeaveTrack. HR reviews leave balances every quarter and reminds employees with "
        "more than 15 days of untaken leave.",
        "This policy is reviewed every 2 years by the Chief People Officer. The next review is due in June 2027."]),
]


def build(path: str | Path, handbook: bool = False) -> Path:
    """Write the leave policy (3 pages) or, with ``handbook``, the employee handbook (~10 pages) to ``path``."""
    from lorakit.data.pdf import handbook as hb

    title, header, sections = ("Leave Policy", HEADER, SECTIONS) if not handbook else (hb.TITLE, hb.HEADER, hb.SECTIONS)
    tables = {"": TABLE} if not handbook else hb.TABLES
    breaks = ("2.3", "4.") if not handbook else hb.PAGE_BREAK_AFTER
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    styles = getSampleStyleSheet()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def page_frame(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(56, A4[1] - 36, header)
        canvas.drawString(56, 30, "Confidential - internal use only")
        canvas.drawRightString(A4[0] - 56, 30, f"Page {doc.page}")
        canvas.restoreState()

    story = [Paragraph(title, styles["Title"]), Spacer(1, 12)]
    for heading, body in sections:
        level = heading.split(" ")[0].count(".") + (0 if heading.split(" ")[0].endswith(".") else 1)
        story.append(Paragraph(heading, styles["Heading1" if level <= 1 else "Heading2"]))
        for part in body:
            if isinstance(part, str) and part.startswith("TABLE"):
                table = Table(tables[part.removeprefix("TABLE").lstrip(":")])
                table.setStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")])
                story.append(table)
            elif isinstance(part, list):
                story.append(ListFlowable([ListItem(Paragraph(x, styles["BodyText"])) for x in part],
                                          bulletType="bullet"))
            else:
                story.append(Paragraph(part, styles["BodyText"]))
        if heading.startswith(breaks):
            story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4, topMargin=60, bottomMargin=50,
                      title=title).build(story, onFirstPage=page_frame, onLaterPages=page_frame)
    return path


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--handbook"]
    default = "examples/handbook.pdf" if "--handbook" in sys.argv else "examples/policy.pdf"
    print(build(args[0] if args else default, handbook="--handbook" in sys.argv))
