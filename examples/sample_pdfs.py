"""The two policy PDFs the policy-QA example and the parser's tests use, written with reportlab.

Numbered sections and subsections, bullet lists, tables, and a running header and footer on every
page, the things a parser must get right. Two documents of a fictional company, Northwind Holdings:

- a 3-page leave policy (``examples/policy.pdf``, the parser's tests);
- a ~10-page employee handbook (``examples/handbook.pdf``, the policy-QA example): 14 policies written as
  real ones are (rules with numbers, units, times, named systems and roles, lists and two tables), long
  enough to hold whole policies out of training (the split unit is the top-level section).

Their content lives here, in ``examples/``, and not in the package: lorakit's question synthesis must
know nothing about any one document's domain (``tests/data/pdf/test_synthesis_vocabulary.py``).

    python examples/sample_pdfs.py [OUT.pdf] [--handbook]
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



# the employee handbook: the leave policy's rules plus 12 more policies
_LEAVE = dict(SECTIONS)  # the leave rules the handbook shares with the 3-page leave policy

HANDBOOK_TITLE = "Employee Handbook"
HANDBOOK_HEADER = "Northwind Holdings - Employee Handbook (HR-HB-001, version 5.0)"

HANDBOOK_TABLES = {
    "leave": TABLE,
    "travel": [["Expense", "Limit", "Receipt needed"],
               ["Hotel night (capital cities)", "EUR 180", "yes"],
               ["Hotel night (other cities)", "EUR 130", "yes"],
               ["Daily meal allowance", "EUR 45", "no"],
               ["Taxi fare", "EUR 60", "yes"],
               ["Private car mileage", "EUR 0.30 per km", "mileage log"]],
}

HANDBOOK_SECTIONS: list[tuple[str, list[str | list[str]]]] = [
    ("1. Working hours and attendance", []),
    ("1.1 Standard hours", [
        "The standard working week is 38 hours, worked Monday to Friday. Core hours, when every employee must be "
        "available, run from 10:00 to 15:00.",
        "Employees may start work between 07:00 and 10:00 and must take a lunch break of at least 30 minutes."]),
    ("1.2 Overtime", [
        "Overtime must be approved in advance by the line manager and is recorded in the TimeBook system. Employees "
        "may work at most 8 hours of overtime per week.",
        "Overtime is compensated as time off in lieu, which must be taken within 3 months."]),
    ("1.3 Lateness and absence", [
        "An employee who will be more than 15 minutes late must inform the line manager by phone. Three unexplained "
        "absences within 12 months lead to a formal attendance review."]),
    ("2. Annual leave", []),
    ("2.1 Entitlement", _LEAVE["2.1 Entitlement"]),
    ("2.2 Requesting annual leave", [
        "Annual leave must be requested in the LeaveTrack system at least 10 working days in advance. Requests for "
        "more than 10 consecutive working days must be submitted at least 30 days in advance.",
        ["The line manager must respond to a request within 3 working days.",
         "Leave may be refused during the annual financial close in the first two weeks of January."]]),
    ("2.3 Carry-over", _LEAVE["2.3 Carry-over"]),
    ("3. Sick leave and other leave", []),
    ("3.1 Sick leave", [
        "Employees who are unwell must notify their line manager before 09:30 on the first day of absence. "
        "Employees receive 10 days of fully paid sick leave per year.",
        "A medical certificate is required for any absence longer than 3 consecutive calendar days."]),
    ("3.2 Parental leave", _LEAVE["4. Parental leave"]),
    ("3.3 Summary of leave entitlements", ["The table below summarises the leave entitlements.", "TABLE:leave"]),
    ("4. Remote work", []),
    ("4.1 Eligibility", [
        "Employees who have completed 3 months of service may work remotely for up to 2 days per week. Remote work "
        "from another country is limited to 20 working days per calendar year.",
        "Remote work arrangements are agreed with the line manager and recorded in the FlexDesk portal."]),
    ("4.2 Home office allowance", [
        "Employees who work remotely at least 1 day per week receive a home office allowance of EUR 25 per month. "
        "A one-off equipment budget of EUR 400 covers a chair, a desk or a monitor.",
        "Claims for the equipment budget must be submitted within 60 days of purchase."]),
    ("5. Travel and expenses", []),
    ("5.1 Booking travel", [
        "All business travel is booked through the TravelDesk portal at least 14 days before departure. Flights "
        "shorter than 6 hours are booked in economy class.",
        "Train travel is preferred for journeys under 4 hours."]),
    ("5.2 Expense limits", ["Expenses are reimbursed up to the limits in the table below.", "TABLE:travel"]),
    ("5.3 Expense claims", [
        "Expense claims are submitted in the ExpensePro system within 30 days of the expense. Claims above EUR 1,000 "
        "need the approval of the department head.",
        "Approved claims are reimbursed with the next monthly payroll run."]),
    ("6. Information security", []),
    ("6.1 Passwords and accounts", [
        "Passwords must be at least 14 characters long and are changed every 12 months. Accounts are locked after "
        "5 failed login attempts.",
        "Multi-factor authentication is mandatory for email, the VPN and every finance system."]),
    ("6.2 Reporting incidents", [
        "A suspected security incident must be reported to the Security Operations Centre within 1 hour of "
        "discovery. A lost laptop or phone must be reported within 4 hours.",
        "Phishing emails are reported with the Report Phish button in the mail client."]),
    ("6.3 Data classification", [
        "Company information is classified as public, internal, confidential or restricted. Restricted documents "
        "are stored only in the VaultShare repository and are kept for 7 years."]),
    ("7. Equipment and devices", []),
    ("7.1 Company laptops", [
        "Every employee receives a company laptop, which is replaced every 4 years. Laptops must be returned to IT "
        "within 5 working days of leaving the company.",
        "Personal software may not be installed on company laptops."]),
    ("7.2 Mobile phones", [
        "Employees in customer-facing roles receive a company phone with a data allowance of 20 GB per month. "
        "Private use of a company phone is allowed up to 5 GB per month."]),
    ("8. Training and development", []),
    ("8.1 Training budget", [
        "Each employee has an annual training budget of EUR 1,500. Courses costing more than EUR 800 need the "
        "approval of the department head.",
        "Training requests are submitted in the LearnHub platform."]),
    ("8.2 Mandatory training", [
        "New employees complete the compliance induction within 30 days of their start date. Security awareness "
        "training is repeated every 12 months.",
        "Managers complete a leadership course within 6 months of their appointment."]),
    ("9. Performance reviews", []),
    ("9.1 Review cycle", [
        "Performance reviews take place twice a year, in June and December. Each review is recorded in the "
        "TalentView system within 10 working days of the meeting.",
        "Ratings use a 5 point scale from 1 (below expectations) to 5 (outstanding)."]),
    ("9.2 Performance improvement", [
        "An employee rated 1 receives a performance improvement plan that lasts 90 days. Progress is reviewed with "
        "the line manager every 2 weeks during the plan."]),
    ("10. Health and safety", []),
    ("10.1 Workplace safety", [
        "Every office has at least 1 trained first aider for every 50 employees. Fire evacuation drills are held "
        "every 6 months.",
        "Accidents at work must be recorded in the SafeLog system within 24 hours."]),
    ("10.2 Display screen work", [
        "Employees who use a screen for more than 4 hours a day are entitled to a free eye test every 2 years. "
        "The company pays up to EUR 150 towards glasses needed for screen work."]),
    ("11. Gifts and hospitality", []),
    ("11.1 Accepting gifts", [
        "Employees may accept gifts worth up to EUR 50 from a business partner. Gifts worth more than EUR 50 must "
        "be declared in the GiftRegister within 5 working days.",
        "Cash gifts and vouchers may never be accepted."]),
    ("11.2 Hospitality", [
        "Business meals with a partner may cost up to EUR 100 per person. Invitations to events abroad need the "
        "written approval of the Compliance Officer."]),
    ("12. Pay and benefits", []),
    ("12.1 Salary payment", [
        "Salaries are paid on the 25th of each month by bank transfer. Payslips are published in the PayPortal "
        "2 days before payment.",
        "Salary bands are reviewed every April."]),
    ("12.2 Pension and insurance", [
        "The company pays a pension contribution of 6 percent of the base salary. Employees who contribute at least "
        "3 percent receive an additional matching contribution of 2 percent.",
        "Life insurance covers 3 times the annual base salary."]),
    ("12.3 Bonus", [
        "The annual bonus is up to 15 percent of the base salary and is paid in March. Employees must have worked "
        "at least 6 months of the bonus year to qualify."]),
    ("13. Grievances and discipline", []),
    ("13.1 Raising a grievance", [
        "A grievance is raised in writing with the HR business partner. HR acknowledges a grievance within "
        "2 working days and holds a hearing within 15 working days.",
        "An employee may appeal the outcome within 10 working days of receiving it."]),
    ("13.2 Disciplinary warnings", [
        "A first written warning stays on file for 6 months and a final written warning for 12 months. Gross "
        "misconduct may lead to dismissal without notice."]),
    ("14. Leaving the company", []),
    ("14.1 Notice periods", [
        "Employees must give 1 month of notice during the first 2 years of service and 3 months after that. "
        "Resignations are submitted in writing to the line manager.",
        "During a notice period of more than 1 month, the company may ask the employee to stay at home."]),
    ("14.2 Final settlement", [
        "Untaken annual leave is paid out with the final salary. The final payslip is issued within 30 days of the "
        "last working day.",
        "An exit interview is held with HR in the last 2 weeks of employment."]),
]

HANDBOOK_PAGE_BREAK_AFTER = ("3.3", "7.2", "11.2")


def build(path: str | Path, handbook: bool = False) -> Path:
    """Write the leave policy (3 pages) or, with ``handbook``, the employee handbook (~10 pages) to ``path``."""
    title, header, sections = ("Leave Policy", HEADER, SECTIONS) if not handbook else (
        HANDBOOK_TITLE, HANDBOOK_HEADER, HANDBOOK_SECTIONS)
    tables = {"": TABLE} if not handbook else HANDBOOK_TABLES
    breaks = ("2.3", "4.") if not handbook else HANDBOOK_PAGE_BREAK_AFTER
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
