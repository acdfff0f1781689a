from chalice import Chalice
app = Chalice(app_name="silastri")
