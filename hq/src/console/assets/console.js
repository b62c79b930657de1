// The console works without script; this only adds conveniences: "select all" boxes and the
// print button of the enrolment sheet (inline handlers are forbidden by the page's CSP).
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('input[data-select-all]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    });
  });
  document.querySelectorAll('button[data-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });
});
