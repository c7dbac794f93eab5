"""What the phone shows for each problem: Vietnamese first, then Central's English text.

Village heads read Vietnamese; support staff and Central-trained trainers recognise the
English. Codes without a translation fall back to the English message alone.
"""

from __future__ import annotations

from server.problems import Problem

VIETNAMESE: dict[str, str] = {
    "400.2": "Thiếu thông tin bắt buộc trong biểu mẫu gửi lên.",
    "400.6": "Ứng dụng gửi sai tiêu đề giao thức OpenRosa.",
    "400.7": "Không tìm thấy tệp dữ liệu biểu mẫu (xml_submission_file) trong lần gửi.",
    "400.39": "Dữ liệu gửi lên bị hỏng, vui lòng gửi lại.",
    "400.40": "Dữ liệu biểu mẫu không hợp lệ nên máy chủ không nhận; bản trên điện thoại vẫn "
    "được giữ nguyên.",
    "401.2": "Sai thông tin đăng nhập hoặc tài khoản không có quyền gửi biểu mẫu này.",
    "401.3": "Chỉ được đăng nhập bằng mật khẩu qua kết nối bảo mật (HTTPS).",
    "403.1": "Tài khoản không có quyền thực hiện thao tác này.",
    "404.1": "Không tìm thấy biểu mẫu trên máy chủ.",
    "404.5": "Không tìm thấy bản gốc của biểu mẫu cần sửa trên máy chủ.",
    "404.6": "Phiên bản biểu mẫu này không có trên máy chủ; hãy tải biểu mẫu mới nhất.",
    "409.1": "Đã có một bản gửi khác với cùng mã; không thể ghi đè.",
    "409.2": "Biểu mẫu này hiện không nhận dữ liệu. Vui lòng liên hệ cán bộ phụ trách.",
    "409.9": "Bản bạn đang sửa đã cũ; hãy tải bản mới nhất rồi sửa lại.",
    "409.18": "Bản gửi này đã bị xoá trên máy chủ, không thể gửi lại.",
    "413.1": "Dữ liệu gửi lên quá lớn so với giới hạn của máy chủ.",
    "500.1": "Máy chủ gặp lỗi, chưa lưu gì. Vui lòng gửi lại sau.",
    "503.2": "Máy chủ tạm thời không lưu được dữ liệu; chưa lưu gì. Biểu mẫu vẫn còn trên "
    "điện thoại, vui lòng gửi lại sau ít phút.",
}


def phone_message(problem: Problem) -> str:
    vietnamese = VIETNAMESE.get(problem.code)
    return f"{vietnamese} ({problem.message})" if vietnamese else problem.message


# Central's text after a stored submission (lib/formats/openrosa.js `createdMessage`); Collect
# shows it under the form's name once the phone has marked the instance as sent.
SUBMISSION_RECEIVED = "Đã gửi biểu mẫu thành công. (full submission upload was successful!)"
