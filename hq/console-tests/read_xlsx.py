"""Read the first sheet of an XLSX file with the standard library (zip + XML), as a
spreadsheet reader would, and print its rows as JSON."""
import json
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}

with zipfile.ZipFile(sys.argv[1]) as z:
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            shared.append("".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])))
    sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter("{%s}row" % NS["m"]):
        cells = []
        for c in row.findall("m:c", NS):
            v = c.find("m:v", NS)
            inline = c.find("m:is", NS)
            if c.get("t") == "s" and v is not None:
                cells.append(shared[int(v.text)])
            elif inline is not None:
                cells.append("".join(t.text or "" for t in inline.iter("{%s}t" % NS["m"])))
            else:
                cells.append(v.text if v is not None else "")
        rows.append(cells)
print(json.dumps(rows, ensure_ascii=False))
